"""Use cases of the scheduled-communications resource."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from scheduled_comms.errors import FieldError, NotFound, NotPending, ValidationFailed, field_errors
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.logic.business_hours import local_time_instant
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.logic.references import check_references
from scheduled_comms.models.api import (
    EDITABLE_FIELDS,
    MATCHED_BY,
    MAX_SCHEDULE_AHEAD_DAYS,
    PAST_TOLERANCE_SECONDS,
    PAYLOAD_MODELS,
    CancelMatchingRequest,
    CancelMatchingResponse,
    CancelMatchingResult,
    CommunicationListResponse,
    CommunicationOut,
    CommunicationResponse,
    CreateEmail,
    CreateSms,
    CreateVoiceCall,
    CreditsMeta,
    ListMeta,
    UpdateCommunicationRequest,
)
from scheduled_comms.models.domain import (
    CHANNEL_SCOPE,
    MAX_ATTEMPTS,
    Caller,
    Channel,
    Communication,
    IdempotencyClaim,
    ListFilters,
    Match,
    Page,
    Replayed,
    Scope,
    Source,
    Status,
)
from scheduled_comms.models.values import new_id
from scheduled_comms.ports import CommunicationStore, CreditLedger, ReferenceSource, ZoneSource


def check_schedule_time(scheduled_for: datetime, now: datetime) -> None:
    if scheduled_for < now - timedelta(seconds=PAST_TOLERANCE_SECONDS):
        raise ValidationFailed(
            "scheduled_for is in the past",
            [FieldError("scheduled_for", f"must not be more than {PAST_TOLERANCE_SECONDS} seconds in the past")],
        )
    if scheduled_for > now + timedelta(days=MAX_SCHEDULE_AHEAD_DAYS):
        raise ValidationFailed(
            "scheduled_for is too far ahead",
            [FieldError("scheduled_for", f"must be within {MAX_SCHEDULE_AHEAD_DAYS} days from now")],
        )


def resolve_scheduled_for(scheduled_for: datetime, zone: str | None) -> datetime:
    """A client's time as an instant: a naive one is a local time in ``zone`` (a 422 when there is none)."""
    if scheduled_for.tzinfo is not None:
        return scheduled_for
    if zone is None:
        raise ValidationFailed(
            "scheduled_for has no UTC offset and the row has no zone",
            [
                FieldError(
                    "scheduled_for",
                    "has no UTC offset (Z or +hh:mm) and no zone to read it in: give timezone, "
                    "or set the company's business-hours zone",
                )
            ],
        )
    return local_time_instant(scheduled_for, zone)


def _company_zone(zones: ZoneSource, company_id: str, rows: list[Communication]) -> str | None:
    """The company's zone, read only when a row follows it."""
    return zones.company_timezone(company_id) if any(row.timezone is None for row in rows) else None


def create_communication(
    store: CommunicationStore,
    references: ReferenceSource,
    caller: Caller,
    request: CreateEmail | CreateSms | CreateVoiceCall,
    now: datetime,
    claim: IdempotencyClaim | None = None,
) -> CommunicationResponse:
    """Queue a new pending row, spending one credit. Needs dispatcher:write and the channel's scope.

    With ``claim``, a request that already created a row answers that row (as it is now) instead.
    """
    channel = Channel(request.channel)
    require_scopes(caller, Scope.DISPATCHER_WRITE, CHANNEL_SCOPE[channel])
    company_zone = None if request.timezone else references.company_timezone(caller.company_id)
    scheduled_for = resolve_scheduled_for(request.scheduled_for, request.timezone or company_zone)
    check_schedule_time(scheduled_for, now)
    payload = request.payload.model_dump(mode="json", exclude_none=True)
    check_references(references, caller.company_id, channel, payload)
    fields = request.model_dump(
        mode="json", exclude={"channel", "payload", "scheduled_for", "cancel_policy", "delivery", "transactional"}
    )
    transactional = request.transactional
    if transactional is None:
        transactional = channel is Channel.EMAIL and payload.get("mode", "transactional") == "transactional"
    row = Communication(
        **fields,
        transactional=transactional,
        delivery=request.delivery or references.default_delivery(caller.company_id),
        id=new_id(now),
        company_id=caller.company_id,
        channel=channel,
        status=Status.PENDING,
        scheduled_for=scheduled_for,
        payload=payload,
        cancel_policy=request.cancel_policy.model_dump(exclude_none=True) if request.cancel_policy else None,
        attempt_count=0,
        max_attempts=MAX_ATTEMPTS[channel],
        source=Source.API,
        created_at=now,
        updated_at=now,
    )
    outcome = store.create(row, claim)
    if isinstance(outcome, Replayed):
        row = outcome.row
    return CommunicationResponse(
        data=CommunicationOut.of(row, company_zone), meta=CreditsMeta(credits_remaining=outcome.credits_remaining)
    )


MAX_IDEMPOTENCY_KEY = 255


def schedule_communication(
    store: CommunicationStore,
    references: ReferenceSource,
    caller: Caller,
    request: CreateEmail | CreateSms | CreateVoiceCall,
    body: Any,
    idempotency_key: str | None,
    now: datetime,
    idempotency_ttl: timedelta,
) -> dict[str, Any]:
    """POST: the caller's scopes first (a replay is no way round them), then create once per Idempotency-Key.

    The key is held in the create's own transaction, with the SHA-256 of the request body: the same key
    and body again answer the row it created; another body is ``IdempotencyKeyReused``.
    """
    require_scopes(caller, Scope.DISPATCHER_WRITE, CHANNEL_SCOPE[Channel(request.channel)])
    claim = None
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY or not idempotency_key.isprintable():
            raise ValidationFailed(
                "Invalid Idempotency-Key",
                [FieldError("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")],
            )
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        claim = IdempotencyClaim(idempotency_key, fingerprint, now + idempotency_ttl)
    return create_communication(store, references, caller, request, now, claim).model_dump(mode="json")


def _with_credits(ledger: CreditLedger, zones: ZoneSource, caller: Caller, row: Communication) -> CommunicationResponse:
    return CommunicationResponse(
        data=CommunicationOut.of(row, _company_zone(zones, caller.company_id, [row])),
        meta=CreditsMeta(credits_remaining=ledger.balance(caller.company_id)),
    )


def _owned_row(store: CommunicationStore, caller: Caller, row_id: str) -> Communication:
    row = store.get(caller.company_id, row_id)
    if row is None or row.source is Source.MESSAGE:  # templated messages are answered by /v1/messages
        raise NotFound("No scheduled communication with this id")
    return row


def _pending_row(store: CommunicationStore, caller: Caller, row_id: str) -> Communication:
    row = _owned_row(store, caller, row_id)
    if row.status is not Status.PENDING:
        raise NotPending(f"Only pending rows can be changed; this one is {row.status.value}")
    return row


def _row_to_change(store: CommunicationStore, caller: Caller, row_id: str) -> Communication:
    """A pending row the caller may change what and when it sends: its channel's scope is needed too."""
    row = _owned_row(store, caller, row_id)
    require_scopes(caller, CHANNEL_SCOPE[row.channel])
    if row.status is not Status.PENDING:
        raise NotPending(f"Only pending rows can be changed; this one is {row.status.value}")
    return row


def get_communication(
    store: CommunicationStore, ledger: CreditLedger, zones: ZoneSource, caller: Caller, row_id: str
) -> CommunicationResponse:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return _with_credits(ledger, zones, caller, _owned_row(store, caller, row_id))


def list_communications(
    store: CommunicationStore,
    ledger: CreditLedger,
    zones: ZoneSource,
    caller: Caller,
    filters: ListFilters,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> CommunicationListResponse:
    """A page of the company's rows, newest first."""
    require_scopes(caller, Scope.DISPATCHER_READ)
    after_id = decode_cursor(cursor, caller.company_id, filters, cursor_key) if cursor else None
    page = store.list(caller.company_id, filters, limit, after_id)
    rows, next_after_id = _within_response_budget(page, _company_zone(zones, caller.company_id, page.items))
    next_cursor = encode_cursor(next_after_id, caller.company_id, filters, cursor_key) if next_after_id else None
    return CommunicationListResponse(
        data=rows,
        meta=ListMeta(credits_remaining=ledger.balance(caller.company_id), limit=limit, next_cursor=next_cursor),
    )


# Lambda answers at most 6 MB; a page stops early (with a cursor) rather than come near it.
MAX_PAGE_BYTES = 4 * 1024 * 1024


def _within_response_budget(page: Page, company_zone: str | None) -> tuple[list[CommunicationOut], str | None]:
    """The page's rows as answered, and the id to go on after; cut short before they near Lambda's limit."""
    answered: list[CommunicationOut] = []
    used = 0
    for row in page.items:
        if row.source is Source.MESSAGE:  # templated messages are listed by /v1/messages
            continue
        out = CommunicationOut.of(row, company_zone)
        used += len(out.model_dump_json())
        if used > MAX_PAGE_BYTES and answered:
            return answered, answered[-1].id
        answered.append(out)
    return answered, page.next_after_id


def update_communication(
    store: CommunicationStore,
    references: ReferenceSource,
    ledger: CreditLedger,
    caller: Caller,
    row_id: str,
    request: UpdateCommunicationRequest,
    now: datetime,
) -> CommunicationResponse:
    """Edit a pending row's schedule, timezone, business-hours flag, payload or cancel policy.

    Needs dispatcher:write and the row's channel scope: an edit decides what is sent, and to whom.
    """
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    given = request.model_fields_set
    if not given:
        raise ValidationFailed(
            "Nothing to change",
            [FieldError("body", f"give at least one of: {', '.join(EDITABLE_FIELDS)}")],
        )
    row = _row_to_change(store, caller, row_id)
    changes: dict[str, Any] = request.model_dump(exclude_unset=True, exclude={"payload", "cancel_policy"})
    if "scheduled_for" in changes:
        zone = changes.get("timezone", row.timezone)
        scheduled_for = resolve_scheduled_for(
            changes["scheduled_for"], zone or references.company_timezone(caller.company_id)
        )
        check_schedule_time(scheduled_for, now)
        changes["scheduled_for"] = scheduled_for
        changes["original_scheduled_for"] = None
    if "cancel_policy" in given:
        policy = request.cancel_policy
        changes["cancel_policy"] = policy.model_dump(exclude_none=True) if policy else None
    if "payload" in given:
        try:
            payload = PAYLOAD_MODELS[row.channel].model_validate(request.payload)
        except ValidationError as exc:
            raise ValidationFailed(
                f"payload is not a valid {row.channel.value} payload", field_errors(exc.errors(), ("payload",))
            ) from None
        changes["payload"] = payload.model_dump(mode="json", exclude_none=True)
        check_references(references, caller.company_id, row.channel, changes["payload"])
    return _with_credits(ledger, references, caller, store.update_pending(row, changes, now))


def cancel_communication(store: CommunicationStore, caller: Caller, row_id: str, now: datetime) -> None:
    """Soft-cancel a pending row; it is kept, with ``cancelled_at`` (the stream publishes the transition)."""
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    store.cancel_pending(_pending_row(store, caller, row_id), now)


CANCEL_PAGE = 200  # rows a cancel by match reads per request; more go on with its cursor


@dataclass(frozen=True)
class _MatchScope:
    match: Match

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.match.value.encode()).hexdigest()
        return f"cancel|{self.match.field}|{digest}"


def cancel_matching(
    store: CommunicationStore, caller: Caller, request: CancelMatchingRequest, now: datetime, cursor_key: bytes
) -> CancelMatchingResponse:
    """Cancel every pending row the request names, across channels: rows, templated messages, cadence follow-ups
    and batch calls' calls (their contacts end ``cancelled``, from the table's stream). Bounded: up to
    ``CANCEL_PAGE`` rows a request, the rest with the answer's cursor, so a large match is worked through in steps
    a client can resume."""
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    field = next(name for name in MATCHED_BY if getattr(request, name) is not None)
    value = str(getattr(request, field))
    # An address (email in lower case, as rows hold it) is matched through the rows' recipient.
    match = Match("recipient", value.lower()) if field in ("to_email", "to_number") else Match(field, value)
    scope = _MatchScope(match)
    after = decode_cursor(request.cursor, caller.company_id, scope, cursor_key) if request.cursor else None
    page = store.matching(caller.company_id, match, CANCEL_PAGE, after)
    cancelled = 0
    for row in page.items:
        if row.status is not Status.PENDING:
            continue
        try:
            store.cancel_pending(row, now)
        except NotPending:  # taken by a tick (or cancelled) since it was read
            continue
        cancelled += 1
    next_cursor = (
        encode_cursor(page.next_after_id, caller.company_id, scope, cursor_key) if page.next_after_id else None
    )
    return CancelMatchingResponse(
        data=CancelMatchingResult(cancelled=cancelled, matched=len(page.items), next_cursor=next_cursor)
    )


def dispatch_now(
    store: CommunicationStore, ledger: CreditLedger, zones: ZoneSource, caller: Caller, row_id: str, now: datetime
) -> CommunicationResponse:
    """Make a pending row due now, ignoring business hours, so the next tick sends it (needs its channel scope)."""
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    row = _row_to_change(store, caller, row_id)
    changes = {
        "scheduled_for": now,
        "respect_business_hours": False,
        "original_scheduled_for": row.original_scheduled_for or row.scheduled_for,
    }
    return _with_credits(ledger, zones, caller, store.update_pending(row, changes, now))
