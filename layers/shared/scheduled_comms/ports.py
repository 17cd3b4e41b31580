"""Ports the logic depends on; adapters implement them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: a function that imports a port need not import every model
    from scheduled_comms.models.business_hours import BusinessHours, Holidays
    from scheduled_comms.models.campaigns import (
        Campaign,
        CampaignContact,
        CampaignStats,
        CampaignStatus,
        Contact,
        ContactFolder,
        ContactStatus,
        DaySlot,
        LiveCounters,
        PlannedContact,
        PlanProgress,
    )
    from scheduled_comms.models.dispatch import DispatchSlice, RateScope
    from scheduled_comms.models.domain import (
        ApiKeyRecord,
        Communication,
        Created,
        Delivery,
        DueRow,
        HeldKey,
        IdempotencyClaim,
        ListFilters,
        Match,
        Page,
        Replayed,
        SendResult,
        Status,
    )
    from scheduled_comms.models.inbox import InboxEntry, InboxHead, InboxPage, InboxStatus
    from scheduled_comms.models.messages import Brand, StoredTemplate
    from scheduled_comms.models.protection import DoNotContactEntry, FrequencyCaps, SuppressedChannel
    from scheduled_comms.models.push import Device
    from scheduled_comms.models.registry import (
        PhoneNumber,
        SenderSettings,
        UserSender,
        VoiceAgentConfig,
        VoiceCredentials,
    )

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class CommunicationStore(Protocol):
    """Rows of one company at a time; every method is scoped by ``company_id``."""

    def create(self, row: Communication, claim: IdempotencyClaim | None = None) -> Created | Replayed:
        """Store a new row, spend one of the company's credits and hold ``claim``'s key, in one write.

        Raises ``InsufficientCredits`` (nothing written) at zero. A key already held for the same request
        gives ``Replayed`` with the row it created; for another request, ``IdempotencyKeyReused``.
        """
        ...

    def get(self, company_id: str, row_id: str, consistent: bool = False) -> Communication | None: ...

    def list(self, company_id: str, filters: ListFilters, limit: int, after_id: str | None) -> Page:
        """Newest first; ``Page.next_after_id`` is None on the last page."""
        ...

    def matching(self, company_id: str, match: Match, limit: int, after_id: str | None) -> Page:
        """Up to ``limit`` rows ``match`` names, through an index, never a scan; ``next_after_id`` goes on."""
        ...

    def update_pending(self, row: Communication, changes: dict[str, Any], now: datetime) -> Communication:
        """Apply ``changes`` to ``row`` on condition that it is still pending.

        Raises ``NotFound`` or ``NotPending`` when the stored row has moved on.
        """
        ...

    def replace_terminal_payload(self, row: Communication, payload: dict[str, Any]) -> bool:
        """Replace a terminal row's payload (to purge what must not outlive the send); False if the row is gone
        or not terminal."""
        ...

    def cancel_pending(self, row: Communication, now: datetime) -> Communication:
        """Soft-cancel ``row`` on condition that it is still pending. Raises ``NotFound`` or ``NotPending``."""
        ...


class CreditLedger(Protocol):
    def balance(self, company_id: str) -> int: ...


class ApiKeyStore(Protocol):
    def put(self, record: ApiKeyRecord) -> None: ...

    def get(self, key_id: str) -> ApiKeyRecord | None: ...

    def set_scopes(self, key_id: str, scopes: tuple[str, ...]) -> None: ...


class EventPublisher(Protocol):
    def publish(self, rows: Iterable[Communication]) -> int:
        """Publish each row's transition to the event bus; returns how many were refused."""
        ...

    def publish_details(self, events: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Publish events given as (detail type, detail); returns how many were refused."""
        ...


class DispatchStore(Protocol):
    """The tick's view of the table: due rows, claims and fenced transitions."""

    @property
    def shard_count(self) -> int: ...

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[DueRow]:
        """One shard's rows due by ``until`` (default ``now``), oldest first: pending ones, and dispatching
        ones whose lease ran out by ``now``."""
        ...

    def claim(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None: ...

    def take_over(self, key: DueRow, now: datetime, lease_until: datetime) -> Communication | None: ...

    def transition(
        self,
        current: Communication,
        updated: Communication,
        also_create: Communication | None = None,
        refund_credit: bool = False,
    ) -> bool:
        """Fenced write of ``updated`` (False if fenced out), creating ``also_create`` in the same transaction,
        or (``refund_credit``) giving the row's credit back to its company in the same transaction.

        A pending ``also_create`` spends a credit; with none left nothing is written and
        ``InsufficientCredits`` is raised.
        """
        ...

    def get(self, company_id: str, row_id: str) -> Communication | None: ...


class DoNotContactStore(Protocol):
    """The company's do-not-contact list, by normalised address."""

    def put(self, company_id: str, entries: Iterable[DoNotContactEntry]) -> None:
        """Write ``entries``, replacing any of the same address and channel."""
        ...

    def delete(self, company_id: str, channel: SuppressedChannel, address: str) -> DoNotContactEntry | None: ...

    def page(self, company_id: str, limit: int, after: str | None) -> tuple[list[DoNotContactEntry], str | None]:
        """Up to ``limit`` entries after the position ``after``, and the position to go on from (None: the end)."""
        ...

    def matching(self, company_id: str, address: str, now: datetime) -> list[DoNotContactEntry]:
        """Every entry of ``address`` in force at ``now``, whatever its channel."""
        ...


class SendCounters(Protocol):
    """Sends to one address on one channel in a rolling window, counted exactly across workers."""

    def take(
        self, company_id: str, channel: str, address: str, limit: int, window_seconds: int, now: datetime
    ) -> float | None:
        """Take a slot at ``now``: None when taken, else the epoch second a slot frees (nothing taken)."""
        ...


class HolidaySource(Protocol):
    def holidays(self, company_id: str) -> Holidays: ...


class CapSource(Protocol):
    def frequency_caps(self, company_id: str) -> FrequencyCaps: ...


class RateBuckets(Protocol):
    """Send quotas shared by every process: slots reserved in batches, so a send costs a fraction of a write."""

    def reserve(self, scope: RateScope, rate: float, count: int, now: float) -> float:
        """Reserve ``count`` consecutive slots ``1 / rate`` seconds apart on ``scope``'s schedule.

        Returns the first slot's time (epoch seconds): no earlier than ``now`` when the schedule was idle,
        else right after the slots reserved before (possibly a little before ``now`` if it fell behind).
        """
        ...


class WorkQueue(Protocol):
    """Where the tick hands its slices to the dispatch workers."""

    def hand_out(self, slices: list[DispatchSlice]) -> int:
        """Queue each slice for a worker of its own; returns how many the queue refused."""
        ...


class Sender(Protocol):
    def send(self, row: Communication) -> SendResult: ...


class BusinessHoursSource(Protocol):
    def business_hours(self, company_id: str) -> BusinessHours: ...

    def holidays(self, company_id: str) -> Holidays: ...


class OutcomeStore(Protocol):
    def get(self, company_id: str, row_id: str) -> Communication | None: ...

    def record_call_outcome(self, row: Communication, outcome: dict[str, Any]) -> bool:
        """Store the outcome if the row has none yet and placed ``outcome["call_id"]``; False otherwise."""
        ...

    def update_if_status(self, current: Communication, updated: Communication, expected: Status) -> bool: ...


class ZoneSource(Protocol):
    def company_timezone(self, company_id: str) -> str | None:
        """The zone of the company's business hours; None until it sets them."""
        ...


class SenderSource(Protocol):
    """What decides an email's sender: the company's sender settings and its users' senders."""

    def sender_settings(self, company_id: str) -> SenderSettings: ...

    def user_sender(self, company_id: str, user_id: str) -> UserSender | None: ...


class ReferenceSource(ZoneSource, SenderSource, Protocol):
    """The company's registrations a row may name, and its defaults."""

    def phone_number(self, company_id: str, number_id: str) -> PhoneNumber | None: ...

    def voice_config(self, company_id: str, config_id: str) -> tuple[VoiceAgentConfig, str] | None: ...

    def default_delivery(self, company_id: str) -> Delivery:
        """The company's delivery mode for rows that name none (at_least_once unless an admin set it)."""
        ...


class ConfigSource(Protocol):
    def voice_config(self, company_id: str, config_id: str) -> tuple[VoiceAgentConfig, str] | None: ...


class CredentialSource(Protocol):
    def voice_credentials(self, secret_arn: str) -> VoiceCredentials: ...


class Directory(Protocol):
    def business_hours(self, company_id: str) -> BusinessHours: ...

    def put_business_hours(self, company_id: str, hours: BusinessHours, now: datetime) -> None: ...

    def holidays(self, company_id: str) -> Holidays: ...

    def put_holidays(self, company_id: str, holidays: Holidays, now: datetime) -> None: ...

    def frequency_caps(self, company_id: str) -> FrequencyCaps: ...

    def put_frequency_caps(self, company_id: str, caps: FrequencyCaps, now: datetime) -> None: ...

    def put_phone_number(self, company_id: str, number: PhoneNumber) -> None: ...

    def phone_numbers(self, company_id: str) -> list[PhoneNumber]: ...

    def put_voice_config(self, company_id: str, config: VoiceAgentConfig, secret_arn: str) -> None: ...

    def voice_configs(self, company_id: str) -> list[VoiceAgentConfig]: ...

    def sender_settings(self, company_id: str) -> SenderSettings: ...

    def put_user_sender(self, company_id: str, sender: UserSender) -> None: ...

    def user_sender(self, company_id: str, user_id: str) -> UserSender | None: ...

    def user_senders(self, company_id: str) -> list[UserSender]: ...

    def delete_user_sender(self, company_id: str, user_id: str) -> bool:
        """Remove a user's sender; False if it had none."""
        ...


class MessageCatalog(ReferenceSource, Protocol):
    """Brands and versioned templates, beside the references a message's brand names."""

    def put_brand(self, company_id: str, brand: Brand) -> None: ...

    def brand(self, company_id: str, brand_id: str) -> Brand | None: ...

    def brands(self, company_id: str) -> list[Brand]: ...

    def put_template(self, company_id: str, template: StoredTemplate) -> bool:
        """Store the key's next version; False when another PUT stored that version first."""
        ...

    def template(self, company_id: str, key: str) -> StoredTemplate | None:
        """The current version; None when never put or deleted."""
        ...

    def template_head_version(self, company_id: str, key: str) -> int: ...

    def template_version(self, company_id: str, key: str, version: int) -> StoredTemplate | None: ...

    def templates(self, company_id: str) -> list[StoredTemplate]: ...

    def delete_template(self, company_id: str, key: str, now: datetime) -> bool: ...


class Sealer(Protocol):
    """Encrypts what HIPAA messages hold, bound to a context (company and message)."""

    def seal(self, plaintext: bytes, context: dict[str, str]) -> dict[str, Any]: ...

    def open(self, sealed: dict[str, Any], context: dict[str, str]) -> bytes:
        """Raises ``SealBroken`` when the value cannot be opened in this context."""
        ...


class Vault(Protocol):
    def put_voice_credentials(self, company_id: str, config_id: str, credentials: VoiceCredentials) -> str: ...


class HostResolver(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to now, in the order to try them.

        Raises ``HostUnresolved`` when it has none (an unknown name, or DNS failing).
        """
        ...


class IdempotencyStore(Protocol):
    """Idempotency-Keys of requests whose answer is stored (``logic.idempotency``)."""

    def hold(self, company_id: str, claim: IdempotencyClaim, now: datetime) -> HeldKey | None:
        """Hold ``claim``'s key as in progress; None if it was free, else what holds it (not expired)."""
        ...

    def complete(self, company_id: str, claim: IdempotencyClaim, answer: tuple[int, Any]) -> None: ...

    def release(self, company_id: str, claim: IdempotencyClaim) -> None: ...


class CampaignStore(Protocol):
    """Campaigns, contact folders and their contacts, one company at a time. Nothing here scans the table:
    a campaign's or folder's contacts are one partition, read in the order they were added."""

    def create(self, campaign: Campaign, contacts: Sequence[Contact]) -> Campaign:
        """Store a new campaign with its first contacts (the contacts first: a campaign is never seen half made)."""
        ...

    def get(self, company_id: str, campaign_id: str, consistent: bool = False) -> Campaign | None: ...

    def list_campaigns(
        self, company_id: str, status: CampaignStatus | None, limit: int, after_id: str | None
    ) -> tuple[list[Campaign], str | None]:
        """Newest first; the id to go on after (None on the last page)."""
        ...

    def live(self, campaign: Campaign, now: datetime) -> LiveCounters:
        """The campaign's progress now, from a few items of its own partition."""
        ...

    def stats(self, campaign: Campaign) -> CampaignStats:
        """The campaign's outcome counters and calls per local day."""
        ...

    def update(
        self, campaign: Campaign, changes: dict[str, Any], allowed: frozenset[CampaignStatus], now: datetime
    ) -> Campaign:
        """Apply ``changes`` (name, agent, numbers, settings) if the campaign's status is still one of ``allowed``;
        ``InvalidState`` naming the status otherwise."""
        ...

    def redistribute(self, campaign: Campaign, changes: dict[str, Any], now: datetime) -> Campaign:
        """Apply ``changes`` and start a new plan (-> scheduling, the next plan epoch) if the campaign's status
        has not changed since it was read (else ``InvalidState`` or ``Conflict``)."""
        ...

    def set_status(self, campaign: Campaign, target: CampaignStatus, now: datetime, plan: bool = False) -> Campaign:
        """Move the campaign from its status to ``target`` if its status has not changed (else ``InvalidState``
        or ``Conflict``); ``plan`` starts a new plan epoch."""
        ...

    def schedule(self, campaign: Campaign, credits: int, now: datetime) -> Campaign:
        """Draft -> scheduling, reserving ``credits`` of the company's credits, in one write.

        ``InsufficientCredits`` (nothing written) when the company has fewer."""
        ...

    def cancel(self, campaign: Campaign, now: datetime) -> Campaign:
        """-> cancelled, returning the credits reserved for contacts never dialled, in one write."""
        ...

    def known_numbers(self, company_id: str, campaign_id: str, numbers: Sequence[str], now: datetime) -> set[str]:
        """Which of ``numbers`` the campaign already has (or an upload under way is adding)."""
        ...

    def add_contacts(self, campaign: Campaign, contacts: Sequence[Contact], now: datetime) -> Campaign:
        """Append contacts to a draft (``InvalidState`` naming the status otherwise). Each number is claimed on
        condition that the campaign does not hold it: ``NumbersTaken`` (nothing written) naming those it does."""
        ...

    def contacts(
        self,
        company_id: str,
        campaign_id: str,
        status: ContactStatus | None,
        limit: int,
        after_index: int | None,
    ) -> tuple[list[CampaignContact], int | None]:
        """A campaign's contacts in the order they were added; the index to go on after (None at the end)."""
        ...

    def create_folder(self, folder: ContactFolder, contacts: Sequence[Contact]) -> ContactFolder: ...

    def get_folder(self, company_id: str, folder_id: str) -> ContactFolder | None: ...

    def list_folders(
        self, company_id: str, limit: int, after_id: str | None
    ) -> tuple[list[ContactFolder], str | None]: ...

    def known_folder_numbers(
        self, company_id: str, folder_id: str, numbers: Sequence[str], now: datetime
    ) -> set[str]: ...

    def add_folder_contacts(
        self, folder: ContactFolder, contacts: Sequence[Contact], now: datetime
    ) -> ContactFolder: ...

    def folder_contacts(
        self, company_id: str, folder_id: str, limit: int, after_index: int | None
    ) -> tuple[list[CampaignContact], int | None]: ...


class CampaignReferences(Protocol):
    """The company's registrations a campaign names: its voice-agent config and its numbers."""

    def phone_number(self, company_id: str, number_id: str) -> PhoneNumber | None: ...

    def voice_config(self, company_id: str, config_id: str) -> tuple[VoiceAgentConfig, str] | None: ...


class CampaignPlanStore(Protocol):
    """The planner's view: the campaign, its contacts to plan, the plan's checkpoint and lease, and batch writes."""

    def get(self, company_id: str, campaign_id: str, consistent: bool = False) -> Campaign | None: ...

    def claim_plan(self, campaign: Campaign, now: datetime, lease_until: datetime) -> PlanProgress | None:
        """The campaign's plan checkpoint (a fresh one for a new epoch), leased to the caller; None while another
        planner's lease holds."""
        ...

    def calls_placed(self, campaign: Campaign, since: date) -> dict[date, int]:
        """The calls placed on each local day from ``since`` on (a re-plan counts them against the day's cap)."""
        ...

    def source_contacts(self, campaign: Campaign, from_index: int) -> Iterator[CampaignContact]:
        """The campaign's contacts from ``from_index`` on, in order (a folder's, as far as they are not copied yet)."""
        ...

    def write_plan_batch(
        self, campaign: Campaign, progress: PlanProgress, planned: Sequence[PlannedContact], careful: bool
    ) -> None:
        """Write the batch's contacts and rows, then the checkpoint ``progress`` with the counters.

        ``PlanAbandoned`` when the campaign is no longer scheduling this epoch (the rows written stand)."""
        ...

    def hand_over(self, campaign: Campaign, progress: PlanProgress) -> None:
        """Let go of the plan's lease and have a planner invoked again for the campaign."""
        ...

    def finish_plan(self, campaign: Campaign, progress: PlanProgress, now: datetime) -> None:
        """Scheduling -> scheduled (if this plan is still the campaign's), letting go of the lease."""
        ...

    def complete(self, campaign: Campaign, now: datetime) -> bool:
        """Scheduled or active -> completed, the credits of contacts never dialled given back; False if it is
        neither."""
        ...

    def write_wind_down_batch(
        self, campaign: Campaign, progress: PlanProgress, never_called: Sequence[CampaignContact], now: datetime
    ) -> None:
        """A cancelled campaign's contacts that never had a call, cancelled, with the checkpoint ``progress`` and
        the counters, in one transaction (at most 98 contacts). ``PlanAbandoned`` when the wind-down lost its
        lease."""
        ...

    def finish_wind_down(self, campaign: Campaign, progress: PlanProgress, now: datetime) -> None:
        """The campaign marked wound down (nothing left to cancel), letting go of the lease."""
        ...


class CampaignCallStore(Protocol):
    """A campaign's calls as the tick and the outcome webhook see them: slots, contacts' progress, completion."""

    def get(self, company_id: str, campaign_id: str, consistent: bool = False) -> Campaign | None: ...

    def take_slot(
        self,
        row: Communication,
        contact_index: int,
        campaign_id: str,
        limit: int,
        now: datetime,
        expires: datetime,
        local_date: date,
    ) -> bool:
        """One of ``limit`` slots for ``row``'s call until ``expires`` (and, at its first call, its contact in
        progress and the call counted on ``local_date``, its planned local day); False if none."""
        ...

    def free_slot(self, company_id: str, campaign_id: str, row_id: str) -> None: ...

    def call_ended(
        self, company_id: str, campaign_id: str, contact_index: int, row_id: str, outcome: dict[str, Any], now: datetime
    ) -> Campaign | None:
        """The contact completed with ``outcome``, counted once; the campaign after it (None when already done)."""
        ...

    def slots_taken(self, campaign: Campaign) -> dict[date, int]:
        """Each local day's slots the campaign's plan and its retries have taken (the plan's checkpoint)."""
        ...

    def retry_call(
        self,
        campaign: Campaign,
        contact_index: int,
        row_id: str,
        outcome: dict[str, Any],
        retry: Communication,
        slot: DaySlot,
        now: datetime,
    ) -> bool | None:
        """The contact of ``row_id``'s call (in progress) scheduled again with ``outcome`` kept and ``retry`` as its
        new call row, taking its day's ``slot`` (on condition that the day's slots taken are still those seen), in
        one write.
        False when the contact had moved on (a replayed webhook) or the campaign is not scheduled or active under
        the same plan; None when another retry took the slot first (plan it again)."""
        ...

    def contact_ended(
        self,
        company_id: str,
        campaign_id: str,
        contact_index: int,
        row_id: str,
        status: ContactStatus,
        error: str,
        now: datetime,
    ) -> Campaign | None:
        """The contact of ``row_id``'s call (scheduled or in progress) moved to the terminal ``status`` with
        ``error`` as its ``last_error``, counted once; the campaign after it (None when it had moved on)."""
        ...

    def complete(self, campaign: Campaign, now: datetime) -> bool: ...


class DeviceStore(Protocol):
    """A person's registered push devices (``models.push``)."""

    def device(self, company_id: str, person_id: str, device_id: str) -> Device | None: ...

    def devices(self, company_id: str, person_id: str) -> list[Device]: ...

    def owner(self, company_id: str, device_id: str) -> str | None:
        """The person the device is registered for now, if any."""
        ...

    def save(self, company_id: str, device: Device, previous_owner: str | None) -> bool:
        """Store ``device`` for its person; a device registered for ``previous_owner`` moves (one owner).
        False, with nothing written, when the device's owner is no longer ``previous_owner``."""
        ...

    def delete(self, company_id: str, person_id: str, device_id: str) -> bool: ...

    def mark_disabled(self, company_id: str, person_id: str, device_id: str, now: datetime) -> None: ...


class PushEndpoints(Protocol):
    """SNS mobile push: a platform endpoint per device token, and publishing to it."""

    def ensure_endpoint(self, application_arn: str, token: str, user_data: str) -> str:
        """The endpoint of ``token`` in the application, created or reused, and enabled; its ARN.

        Raises ``ValidationFailed`` naming ``token`` when SNS refuses the token."""
        ...

    def delete_endpoint(self, endpoint_arn: str) -> None: ...

    def publish(self, endpoint_arn: str, message: dict[str, str], ttl_seconds: int, platform: str) -> SendResult:
        """Publish SNS's per-platform JSON ``message``; ``fail`` with error ``endpoint_disabled`` when SNS
        reports the endpoint disabled."""
        ...


class InboxStore(Protocol):
    """People's in-app inboxes (``models.inbox``): entries newest first, their marks, and the counts."""

    def land(self, company_id: str, entry: InboxEntry) -> bool:
        """Put the entry in its person's inbox; False when the message had landed already (nothing changed)."""
        ...

    def head(self, company_id: str, person_id: str) -> InboxHead: ...

    def page(
        self, company_id: str, person_id: str, status: InboxStatus | None, limit: int, after: str | None
    ) -> InboxPage:
        """Up to ``limit`` entries newest first (``status`` None: all but archived), after the position
        ``after``; the page may be short when few entries matched, with a position to go on from."""
        ...

    def entry(self, company_id: str, person_id: str, message_id: str) -> InboxEntry | None: ...

    def save_marks(self, company_id: str, current: InboxEntry, marked: InboxEntry) -> bool:
        """Store ``marked``'s marks and adjust the counts, if the entry is still as ``current`` (else False)."""
        ...
