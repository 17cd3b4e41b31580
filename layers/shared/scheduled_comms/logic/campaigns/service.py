"""Use cases of batch calls (campaigns) and contact folders, as the API offers them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from scheduled_comms.errors import (
    FieldError,
    InsufficientCredits,
    InvalidCursor,
    InvalidState,
    NotFound,
    NumbersTaken,
    ValidationFailed,
    field_errors,
)
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.logic.campaigns.contacts import MAX_LISTED_ERRORS, parse_contact_csv, parse_contact_json
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.logic.idempotency import Answer, idempotency_key, request_claim, run_once
from scheduled_comms.models.campaign_api import (
    AnalyticsOut,
    AnalyticsResponse,
    CampaignListResponse,
    CampaignOut,
    CampaignResponse,
    ContactListResponse,
    ContactOut,
    ContactsAdded,
    ContactsAddedResponse,
    CreateCampaignRequest,
    CreateFolderRequest,
    FolderListResponse,
    FolderOut,
    FolderResponse,
    PageMeta,
    UpdateCampaignRequest,
)
from scheduled_comms.models.campaigns import (
    Campaign,
    CampaignStatus,
    Contact,
    ContactFolder,
    ContactSource,
    ContactStatus,
    DeliverySettings,
    ScheduleType,
)
from scheduled_comms.models.domain import Caller, Scope
from scheduled_comms.models.values import new_id
from scheduled_comms.ports import CampaignReferences, CampaignStore, CreditLedger, IdempotencyStore

WRITE_SCOPES = (Scope.CAMPAIGNS_WRITE, Scope.CALLS_INITIATE)
READ_SCOPES = (Scope.CAMPAIGNS_READ,)


@dataclass(frozen=True)
class ListScope:
    """What a list's cursor is valid for: the list, and the filters it was read with."""

    parts: tuple[str, ...]

    def fingerprint(self) -> str:
        return "|".join(self.parts)


def owned_campaign(store: CampaignStore, caller: Caller, campaign_id: str, consistent: bool = False) -> Campaign:
    campaign = store.get(caller.company_id, campaign_id, consistent=consistent)
    if campaign is None:
        raise NotFound("No batch call with this id")
    return campaign


def _owned_folder(store: CampaignStore, caller: Caller, folder_id: str) -> ContactFolder:
    folder = store.get_folder(caller.company_id, folder_id)
    if folder is None:
        raise NotFound("No contact folder with this id")
    return folder


def require_status(campaign: Campaign, allowed: CampaignStatus, action: str) -> None:
    """A 409 naming the campaign's status unless it is ``allowed`` (schedule needs a draft, resume a pause):
    the status machine alone would let a paused campaign be scheduled, or a draft resumed."""
    if campaign.status is not allowed:
        raise InvalidState(
            f"the campaign is {campaign.status.value}; only a {allowed.value} campaign can be {action}",
            [FieldError("status", f"is {campaign.status.value}")],
        )


def reference_problems(
    references: CampaignReferences, company_id: str, agent_id: str | None, phone_number_ids: Sequence[str]
) -> list[FieldError]:
    """What a campaign names that the company has not registered."""
    problems = []
    if agent_id is not None and references.voice_config(company_id, agent_id) is None:
        problems.append(FieldError("agent_id", "is not a voice-agent config registered by this company"))
    for i, number_id in enumerate(phone_number_ids):
        if references.phone_number(company_id, number_id) is None:
            problems.append(FieldError(f"phone_number_ids[{i}]", "is not a phone number registered by this company"))
    return problems


def _refuse(problems: list[FieldError], message: str = "The request is not valid; see details") -> None:
    if problems:
        raise ValidationFailed(message, problems)


def _source_problems(request: CreateCampaignRequest) -> list[FieldError]:
    source = request.contact_source
    problems = []
    if source is ContactSource.INLINE and not request.contacts:
        problems.append(FieldError("contacts", "must hold at least one contact when contact_source is inline"))
    if source is not ContactSource.INLINE and request.contacts is not None:
        problems.append(FieldError("contacts", "is only allowed when contact_source is inline"))
    if source is ContactSource.FOLDER and request.contact_folder_id is None:
        problems.append(FieldError("contact_folder_id", "is required when contact_source is folder"))
    if source is not ContactSource.FOLDER and request.contact_folder_id is not None:
        problems.append(FieldError("contact_folder_id", "is only allowed when contact_source is folder"))
    return problems


def create_campaign(
    store: CampaignStore, references: CampaignReferences, caller: Caller, request: CreateCampaignRequest, now: datetime
) -> CampaignResponse:
    """A new draft campaign with its inline contacts (all valid, or none stored)."""
    require_scopes(caller, *WRITE_SCOPES)
    _refuse(_source_problems(request))
    problems = reference_problems(references, caller.company_id, request.agent_id, request.phone_number_ids)
    if request.contact_folder_id and store.get_folder(caller.company_id, request.contact_folder_id) is None:
        problems.append(FieldError("contact_folder_id", "is not a contact folder of this company"))
    _refuse(problems)
    contacts = (
        parse_contact_json(request.contacts, default_region=request.default_region)
        if request.contact_source is ContactSource.INLINE
        else []
    )
    campaign = Campaign(
        id=new_id(now),
        company_id=caller.company_id,
        name=request.name,
        agent_id=request.agent_id,
        phone_number_ids=request.phone_number_ids,
        contact_source=request.contact_source,
        contact_folder_id=request.contact_folder_id,
        dynamic_variables=request.dynamic_variables,
        settings=request.delivery_settings(),
        created_at=now,
        updated_at=now,
    )
    return CampaignResponse(data=CampaignOut.of(store.create(campaign, contacts)))


def get_campaign(store: CampaignStore, caller: Caller, campaign_id: str, now: datetime) -> CampaignResponse:
    """A batch call's settings and counters, with its live progress (calls placed today, in flight, next due)."""
    require_scopes(caller, *READ_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id)
    return CampaignResponse(data=CampaignOut.of(campaign, store.live(campaign, now)))


def campaign_analytics(store: CampaignStore, caller: Caller, campaign_id: str) -> AnalyticsResponse:
    """What a batch call's calls came to: counters kept on its item and its day items, never a scan."""
    require_scopes(caller, *READ_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    return AnalyticsResponse(data=AnalyticsOut.of(campaign, store.stats(campaign)))


def _after(cursor: str | None, caller: Caller, scope: ListScope, key: bytes) -> str | None:
    return decode_cursor(cursor, caller.company_id, scope, key) if cursor else None


def _cursor(after: str | int | None, caller: Caller, scope: ListScope, key: bytes) -> str | None:
    return encode_cursor(str(after), caller.company_id, scope, key) if after is not None else None


def list_campaigns(
    store: CampaignStore,
    caller: Caller,
    status: CampaignStatus | None,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> CampaignListResponse:
    """The company's batch calls, newest first."""
    require_scopes(caller, *READ_SCOPES)
    scope = ListScope(("batch-calls", status.value if status else ""))
    found, after = store.list_campaigns(caller.company_id, status, limit, _after(cursor, caller, scope, cursor_key))
    return CampaignListResponse(
        data=[CampaignOut.of(campaign) for campaign in found],
        meta=PageMeta(limit=limit, next_cursor=_cursor(after, caller, scope, cursor_key)),
    )


EDITABLE_SETTINGS = (
    "scheduled_at",
    "timezone",
    "start_time",
    "end_time",
    "working_days",
    "max_calls_per_day",
    "max_concurrent_calls",
    "excluded_dates",
)


def edited_settings(current: DeliverySettings, request: UpdateCampaignRequest) -> DeliverySettings:
    """The delivery settings with the request's changes, checked as a whole (each error names its field)."""
    given = request.model_fields_set
    values = current.model_dump()
    values.update({name: getattr(request, name) for name in EDITABLE_SETTINGS if name in given})
    if "scheduled_at" in given:
        values["schedule_type"] = ScheduleType.SCHEDULED if request.scheduled_at else ScheduleType.IMMEDIATE
    try:
        return DeliverySettings.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed("The changes are not valid; see details", field_errors(exc.errors())) from None


# The settings the plan is made of (max_concurrent_calls is not: it only caps the calls in flight).
PLANNING_SETTINGS = frozenset(EDITABLE_SETTINGS) - {"max_concurrent_calls"}
EDITABLE = frozenset(
    {
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULING,
        CampaignStatus.SCHEDULED,
        CampaignStatus.ACTIVE,
        CampaignStatus.PAUSED,
    }
)
# A schedule edited in these statuses redistributes the contacts not yet dialled, in the background.
REDISTRIBUTED = frozenset({CampaignStatus.SCHEDULING, CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE})


def update_campaign(
    store: CampaignStore, caller: Caller, campaign_id: str, request: UpdateCampaignRequest, now: datetime
) -> CampaignResponse:
    """Edit a campaign's name and delivery settings. A draft's are only updated (so are a paused one's: resuming
    re-plans with them). A scheduled or active campaign whose schedule changes goes back to ``scheduling``: the
    planner redistributes every contact not yet dialled over the new schedule from now, the calls already
    placed each day counting against that day's cap."""
    require_scopes(caller, *WRITE_SCOPES)
    if not request.model_fields_set:
        raise ValidationFailed(
            "Nothing to change", [FieldError("body", f"give at least one of: name, {', '.join(EDITABLE_SETTINGS)}")]
        )
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    if campaign.status not in EDITABLE:
        raise InvalidState(
            f"the campaign is {campaign.status.value}; it cannot be changed now",
            [FieldError("status", f"is {campaign.status.value}")],
        )
    changes: dict[str, Any] = {}
    if request.name is not None:
        changes["name"] = request.name
    if request.model_fields_set - {"name"}:
        changes["settings"] = edited_settings(campaign.settings, request).model_dump(mode="json")
    if campaign.status in REDISTRIBUTED and request.model_fields_set & PLANNING_SETTINGS:
        updated = store.redistribute(campaign, changes, now)
    else:
        updated = store.update(campaign, changes, EDITABLE, now)
    return CampaignResponse(data=CampaignOut.of(updated))


def parse_contacts(
    body: str, content_type: str, default_region: str | None, known: Callable[[list[str]], set[str]]
) -> list[Contact]:
    """An upload's contacts, a JSON array or (``Content-Type: text/csv``) CSV; ``known`` answers which numbers the
    list already has."""
    if content_type == "text/csv":
        contacts = parse_contact_csv(body, default_region=default_region, existing=known)
    else:
        contacts = parse_contact_json(json.loads(body or "null"), default_region=default_region, existing=known)
    if not contacts:
        raise ValidationFailed("No contacts given", [FieldError("body", "must hold at least one contact")])
    return contacts


def numbers_taken(contacts: Sequence[Contact], taken: NumbersTaken) -> ValidationFailed:
    """The 422 for an upload whose numbers another upload wrote meanwhile: each such line named."""
    problems = [
        FieldError(f"contacts[{index}].phone_number", f"{contact.phone_number} is already in the campaign (or folder)")
        for index, contact in enumerate(contacts)
        if contact.phone_number in taken.numbers
    ]
    return ValidationFailed(
        f"{len(problems)} of the {len(contacts)} contacts are not valid; none was added (see details)",
        problems[:MAX_LISTED_ERRORS],
    )


def add_campaign_contacts(
    store: CampaignStore,
    caller: Caller,
    campaign_id: str,
    body: str,
    content_type: str,
    default_region: str | None,
    now: datetime,
) -> ContactsAddedResponse:
    """Append an upload's contacts to a draft: all of them, or (any line bad) none."""
    require_scopes(caller, *WRITE_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id)
    require_status(campaign, CampaignStatus.DRAFT, "given contacts")
    contacts = parse_contacts(
        body,
        content_type,
        default_region,
        lambda numbers: store.known_numbers(caller.company_id, campaign.id, numbers, now),
    )
    try:
        updated = store.add_contacts(campaign, contacts, now)
    except NumbersTaken as taken:
        raise numbers_taken(contacts, taken) from None
    return ContactsAddedResponse(data=ContactsAdded(added=len(contacts), contacts_total=updated.contacts_total))


def _index_after(cursor: str | None, caller: Caller, scope: ListScope, key: bytes) -> int | None:
    after = _after(cursor, caller, scope, key)
    if after is not None and not after.isdigit():
        raise InvalidCursor("The cursor is not valid for this query", [FieldError("cursor", "not a contacts cursor")])
    return int(after) if after is not None else None


def list_campaign_contacts(
    store: CampaignStore,
    caller: Caller,
    campaign_id: str,
    status: ContactStatus | None,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> ContactListResponse:
    """A campaign's contacts in the order they were added, optionally of one status."""
    require_scopes(caller, *READ_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id)
    scope = ListScope(("batch-call-contacts", campaign.id, status.value if status else ""))
    found, after = store.contacts(
        caller.company_id, campaign.id, status, limit, _index_after(cursor, caller, scope, cursor_key)
    )
    return ContactListResponse(
        data=[ContactOut.of(entry) for entry in found],
        meta=PageMeta(limit=limit, next_cursor=_cursor(after, caller, scope, cursor_key)),
    )


def schedule_campaign(
    store: CampaignStore,
    references: CampaignReferences,
    ledger: CreditLedger,
    caller: Caller,
    campaign_id: str,
    now: datetime,
) -> CampaignResponse:
    """Draft -> scheduling: prerequisites checked (each failure a 422 naming its field), one credit per contact
    reserved; the planner gives the contacts their slots in the background."""
    require_scopes(caller, *WRITE_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    require_status(campaign, CampaignStatus.DRAFT, "scheduled")
    problems = reference_problems(references, caller.company_id, campaign.agent_id, campaign.phone_number_ids)
    if campaign.agent_id is None:
        problems.insert(0, FieldError("agent_id", "is required to schedule: the voice-agent config that calls"))
    if not campaign.phone_number_ids:
        problems.append(FieldError("phone_number_ids", "must name at least one registered phone number to schedule"))
    if campaign.contact_source is ContactSource.FOLDER and campaign.contact_folder_id is not None:
        folder = store.get_folder(caller.company_id, campaign.contact_folder_id)
        count = folder.contacts_total if folder else 0
        if count == 0:
            problems.append(FieldError("contact_folder_id", "names a folder with no contacts to call"))
    else:
        count = campaign.counts.get(ContactStatus.PENDING, 0)
        if count == 0:
            problems.append(FieldError("contacts", "the batch call has no pending contact to call"))
    _refuse(problems, "The batch call cannot be scheduled; see details")
    try:
        scheduled = store.schedule(campaign, count, now)
    except InsufficientCredits:
        balance = ledger.balance(caller.company_id)
        raise ValidationFailed(
            "Not enough credits to schedule this batch call",
            [FieldError("credits", f"the company has {balance}; scheduling reserves one per contact ({count})")],
        ) from None
    return CampaignResponse(data=CampaignOut.of(scheduled))


def pause_campaign(store: CampaignStore, caller: Caller, campaign_id: str, now: datetime) -> CampaignResponse:
    """Stop dialling: due contacts wait (neither failed nor skipped) until the campaign is resumed."""
    require_scopes(caller, *WRITE_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    return CampaignResponse(data=CampaignOut.of(store.set_status(campaign, CampaignStatus.PAUSED, now)))


def resume_campaign(store: CampaignStore, caller: Caller, campaign_id: str, now: datetime) -> CampaignResponse:
    """Paused -> scheduling: what remains is planned again from now, in the background."""
    require_scopes(caller, *WRITE_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    require_status(campaign, CampaignStatus.PAUSED, "resumed")
    resumed = store.set_status(campaign, CampaignStatus.SCHEDULING, now, plan=True)
    return CampaignResponse(data=CampaignOut.of(resumed))


def cancel_campaign(store: CampaignStore, caller: Caller, campaign_id: str, now: datetime) -> CampaignResponse:
    """Stop for good; the credits of contacts never dialled go back to the company."""
    require_scopes(caller, *WRITE_SCOPES)
    campaign = owned_campaign(store, caller, campaign_id, consistent=True)
    return CampaignResponse(data=CampaignOut.of(store.cancel(campaign, now)))


# --- contact folders -----------------------------------------------------------------------------------------


def create_folder(store: CampaignStore, caller: Caller, request: CreateFolderRequest, now: datetime) -> FolderResponse:
    require_scopes(caller, *WRITE_SCOPES)
    contacts = parse_contact_json(request.contacts, default_region=request.default_region) if request.contacts else []
    folder = ContactFolder(
        id=new_id(now), company_id=caller.company_id, name=request.name, created_at=now, updated_at=now
    )
    return FolderResponse(data=FolderOut.of(store.create_folder(folder, contacts)))


def list_folders(
    store: CampaignStore, caller: Caller, limit: int, cursor: str | None, cursor_key: bytes
) -> FolderListResponse:
    require_scopes(caller, *READ_SCOPES)
    scope = ListScope(("contact-folders",))
    found, after = store.list_folders(caller.company_id, limit, _after(cursor, caller, scope, cursor_key))
    return FolderListResponse(
        data=[FolderOut.of(folder) for folder in found],
        meta=PageMeta(limit=limit, next_cursor=_cursor(after, caller, scope, cursor_key)),
    )


def add_folder_contacts(
    store: CampaignStore,
    caller: Caller,
    folder_id: str,
    body: str,
    content_type: str,
    default_region: str | None,
    now: datetime,
) -> ContactsAddedResponse:
    require_scopes(caller, *WRITE_SCOPES)
    folder = _owned_folder(store, caller, folder_id)
    contacts = parse_contacts(
        body,
        content_type,
        default_region,
        lambda numbers: store.known_folder_numbers(caller.company_id, folder.id, numbers, now),
    )
    try:
        updated = store.add_folder_contacts(folder, contacts, now)
    except NumbersTaken as taken:
        raise numbers_taken(contacts, taken) from None
    return ContactsAddedResponse(data=ContactsAdded(added=len(contacts), contacts_total=updated.contacts_total))


def list_folder_contacts(
    store: CampaignStore, caller: Caller, folder_id: str, limit: int, cursor: str | None, cursor_key: bytes
) -> ContactListResponse:
    require_scopes(caller, *READ_SCOPES)
    folder = _owned_folder(store, caller, folder_id)
    scope = ListScope(("folder-contacts", folder.id))
    found, after = store.folder_contacts(
        caller.company_id, folder.id, limit, _index_after(cursor, caller, scope, cursor_key)
    )
    return ContactListResponse(
        data=[ContactOut.of(entry) for entry in found],
        meta=PageMeta(limit=limit, next_cursor=_cursor(after, caller, scope, cursor_key)),
    )


def post_once(
    keys: IdempotencyStore,
    caller: Caller,
    headers: Mapping[str, str],
    route: str,
    body: Any,
    now: datetime,
    ttl: timedelta,
    status: int,
    run: Callable[[], BaseModel],
) -> Answer:
    """A campaign POST answered once per Idempotency-Key (or X-Idempotency-Key): the caller's scopes first (a
    replay is no way round them), then ``run``'s answer with ``status``, stored for a repeat of the request."""
    require_scopes(caller, *WRITE_SCOPES)
    claim = request_claim(idempotency_key(headers), route, body, now, ttl)
    return run_once(keys, caller.company_id, claim, now, lambda: (status, run().model_dump(mode="json")))
