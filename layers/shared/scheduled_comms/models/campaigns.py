"""Outbound call campaigns ("batch calls"): delivery settings, contacts, and the campaign status machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scheduled_comms.errors import FieldError, InvalidState
from scheduled_comms.models.base import Model
from scheduled_comms.models.business_hours import DEFAULT_TIMEZONE
from scheduled_comms.models.domain import Communication
from scheduled_comms.models.values import E164Number, IanaTimezone, SingleLine, UtcInstant, Uuid, VariableMap

MAX_EXCLUDED_DATES = 366
MAX_CALLS_PER_DAY = 86_400  # one call a second around the clock; the window's length bounds it further
MAX_CONCURRENT_CALLS = 100
MAX_RETRY_AFTER_MINUTES = 7 * 24 * 60

ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["10:00"])]
EndClockTime = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["17:00"])]


def clock_minutes(value: str) -> int:
    """``HH:MM`` as minutes after midnight (``24:00`` is 1440)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class ScheduleType(StrEnum):
    IMMEDIATE = "immediate"
    SCHEDULED = "scheduled"


class PhoneRotation(StrEnum):
    """How a contact's outbound number is chosen at planning time."""

    SEQUENTIAL = "sequential"  # the first number; the dialler falls over to the next when a dial fails
    ROUND_ROBIN = "round_robin"
    RANDOM = "random"


class ContactTimezone(StrEnum):
    """Whose clock the window is read in: the campaign's zone, or each contact's own."""

    CAMPAIGN = "campaign"
    AUTO = "auto"


class RetryOutcome(StrEnum):
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class RetryPolicy(Model):
    """Calls a contact gets in all, and after which outcomes (never after a real conversation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: Annotated[int, Field(strict=True, ge=1, le=5)] = 1
    retry_after_minutes: Annotated[int, Field(strict=True, ge=1, le=MAX_RETRY_AFTER_MINUTES)] = 60
    retry_on: Annotated[list[RetryOutcome], Field(max_length=4), AfterValidator(_unique)] = Field(
        default_factory=lambda: [RetryOutcome.NO_ANSWER, RetryOutcome.BUSY, RetryOutcome.FAILED]
    )


class OutcomeKind(StrEnum):
    """What a call's outcome was, for the retry policy and the analytics."""

    CONVERSATION = "conversation"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


CONVERSATION_SECONDS = 10  # answered and spoken to for this long: a real conversation (as for cadences)


def outcome_kind(outcome: dict[str, Any]) -> OutcomeKind:
    """The kind of a call's outcome (``answered``, ``talk_seconds``, ``end_reason``, as the provider reports it)."""
    reason = str(outcome.get("end_reason", "")).lower().replace("-", "_")
    if outcome.get("answered") and float(outcome.get("talk_seconds") or 0) >= CONVERSATION_SECONDS:
        return OutcomeKind.CONVERSATION
    if reason == "voicemail":
        return OutcomeKind.VOICEMAIL
    if reason == "busy":
        return OutcomeKind.BUSY
    if reason in ("failed", "error"):
        return OutcomeKind.FAILED
    if not outcome.get("answered"):
        return OutcomeKind.NO_ANSWER
    return OutcomeKind.CONVERSATION  # answered, and over quickly: a conversation all the same


# Upper bounds (seconds) of the conversation-length histogram kept on the campaign item (for the p50).
TALK_BUCKETS = (15, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 3600)


def talk_bucket(seconds: float) -> int:
    """The histogram bucket (its upper bound; the last holds everything longer) a conversation falls in."""
    return next((bound for bound in TALK_BUCKETS if seconds <= bound), TALK_BUCKETS[-1])


class DeliverySettings(Model):
    """When a campaign's calls may happen: the planner's input.

    Calls go out from ``max(scheduled_at, now)``, on ``working_days`` (1 = Monday ... 7 = Sunday) that are
    not ``excluded_dates``, inside ``[start_time, end_time)`` local time, at most ``max_calls_per_day`` a
    local day. Each error names its field, so the API answers a 422 through ``errors.field_errors``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: IanaTimezone = DEFAULT_TIMEZONE
    start_time: ClockTime = "09:00"
    # Defaults are checked too: a start_time alone must still come before the default end_time.
    end_time: Annotated[EndClockTime, Field(validate_default=True)] = "17:00"
    working_days: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=7)]], Field(min_length=1, max_length=7), AfterValidator(_unique)
    ] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    max_calls_per_day: Annotated[int, Field(strict=True, ge=1, le=MAX_CALLS_PER_DAY, validate_default=True)] = 100
    max_concurrent_calls: Annotated[int, Field(strict=True, ge=1, le=MAX_CONCURRENT_CALLS)] = 1
    excluded_dates: Annotated[list[date], Field(max_length=MAX_EXCLUDED_DATES), AfterValidator(_unique)] = Field(
        default_factory=list
    )
    contact_timezone: ContactTimezone = ContactTimezone.CAMPAIGN
    schedule_type: ScheduleType = ScheduleType.IMMEDIATE
    scheduled_at: Annotated[UtcInstant | None, Field(validate_default=True)] = None
    phone_rotation: PhoneRotation = PhoneRotation.SEQUENTIAL
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    @field_validator("end_time")
    @classmethod
    def _after_start(cls, end_time: str, info: ValidationInfo) -> str:
        start_time = info.data.get("start_time")
        if start_time is not None and clock_minutes(end_time) <= clock_minutes(start_time):
            raise ValueError("must be later than start_time (windows do not cross midnight)")
        return end_time

    @field_validator("max_calls_per_day")
    @classmethod
    def _one_second_each(cls, cap: int, info: ValidationInfo) -> int:
        # Every call gets its own second of the window, so planned times stay unique when stored to the second.
        start_time, end_time = info.data.get("start_time"), info.data.get("end_time")
        if start_time is not None and end_time is not None:
            seconds = (clock_minutes(end_time) - clock_minutes(start_time)) * 60
            if cap > seconds:
                raise ValueError(f"must be at most the window's length in seconds ({seconds})")
        return cap

    @field_validator("scheduled_at")
    @classmethod
    def _only_when_scheduled(cls, scheduled_at: Any, info: ValidationInfo) -> Any:
        scheduled = info.data.get("schedule_type") == ScheduleType.SCHEDULED
        if scheduled and scheduled_at is None:
            raise ValueError("is required when schedule_type is scheduled")
        if not scheduled and scheduled_at is not None:
            raise ValueError("is only allowed when schedule_type is scheduled")
        return scheduled_at

    @property
    def start_minutes(self) -> int:
        return clock_minutes(self.start_time)

    @property
    def end_minutes(self) -> int:
        return clock_minutes(self.end_time)


def check_region(value: str) -> str:
    import phonenumbers  # on first use, as values.check_e164 does

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be an ISO 3166 region code phone numbers are known for, e.g. US")
    return value


RegionCode = Annotated[str, StringConstraints(min_length=2, max_length=3), AfterValidator(check_region)]

_CONTACT_FIELDS = frozenset({"phone_number", "name", "contact_id", "timezone", "dynamic_variables"})


def national_to_e164(value: Any, region: str | None) -> Any:
    """A national number written for ``region`` in E.164 form; anything else is left for the E.164 check."""
    if region is None or not isinstance(value, str) or value.startswith("+"):
        return value
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"is not a phone number of region {region}") from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Contact(Model):
    """One person a campaign calls. Validated with ``context={"default_region": "US"}``, a national number is
    accepted for that region. ``to_number`` is read as ``phone_number``; any other field is a dynamic variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone_number: E164Number
    name: Annotated[str, StringConstraints(min_length=1, max_length=200), SingleLine] | None = None
    contact_id: Uuid | None = None
    timezone: IanaTimezone | None = None
    dynamic_variables: VariableMap = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _others_are_variables(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "to_number" in data:
            if "phone_number" in data:
                raise ValueError("give phone_number or to_number, not both")
            data["phone_number"] = data.pop("to_number")
        others = {key: data.pop(key) for key in list(data) if key not in _CONTACT_FIELDS}
        if others:
            given = data.get("dynamic_variables")
            data["dynamic_variables"] = {**given, **others} if isinstance(given, dict) else others
        return data

    @field_validator("phone_number", mode="before")
    @classmethod
    def _national_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return national_to_e164(value, (info.context or {}).get("default_region"))


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULING = "scheduling"  # the planner is giving contacts their slots, in the background
    SCHEDULED = "scheduled"
    ACTIVE = "active"  # a call has been placed
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Where each status may go. Resuming re-plans what remains from now, so a paused campaign goes back to scheduling;
# so does a scheduled or active one whose schedule is edited (its contacts not yet dialled are redistributed).
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.SCHEDULING, CampaignStatus.CANCELLED}),
    CampaignStatus.SCHEDULING: frozenset({CampaignStatus.SCHEDULED, CampaignStatus.PAUSED, CampaignStatus.CANCELLED}),
    CampaignStatus.SCHEDULED: frozenset(
        {
            CampaignStatus.SCHEDULING,
            CampaignStatus.ACTIVE,
            CampaignStatus.PAUSED,
            CampaignStatus.COMPLETED,
            CampaignStatus.CANCELLED,
        }
    ),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.SCHEDULING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED}
    ),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.SCHEDULING, CampaignStatus.CANCELLED}),
    CampaignStatus.COMPLETED: frozenset(),
    CampaignStatus.CANCELLED: frozenset(),
}


def check_transition(current: CampaignStatus, target: CampaignStatus) -> CampaignStatus:
    """``target`` if a campaign in ``current`` may move there; else ``InvalidState`` (a 409) naming ``current``."""
    if target not in TRANSITIONS[current]:
        raise InvalidState(
            f"the campaign is {current.value}; it cannot become {target.value}",
            [FieldError("status", f"is {current.value}")],
        )
    return target


class ContactSource(StrEnum):
    INLINE = "inline"  # ``contacts`` in the create request's body
    FOLDER = "folder"  # a contact folder's contacts, copied when the campaign is scheduled
    NONE = "none"  # a draft; contacts are added later


class ContactStatus(StrEnum):
    PENDING = "pending"  # not planned yet
    SCHEDULED = "scheduled"  # has its call slot
    IN_PROGRESS = "in_progress"  # its call is being placed or is going on
    COMPLETED = "completed"  # a call was made and ended
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


TERMINAL_CONTACT_STATUSES = frozenset(
    {ContactStatus.COMPLETED, ContactStatus.FAILED, ContactStatus.SKIPPED, ContactStatus.CANCELLED}
)


class Campaign(Model):
    """A campaign as the service knows it (storage-independent). ``counts``: contacts by status."""

    model_config = ConfigDict(frozen=True)

    id: str
    company_id: str
    name: str
    agent_id: str | None = None
    phone_number_ids: list[str] = Field(default_factory=list)
    contact_source: ContactSource = ContactSource.NONE
    contact_folder_id: str | None = None
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)
    settings: DeliverySettings
    status: CampaignStatus = CampaignStatus.DRAFT
    counts: dict[ContactStatus, int] = Field(default_factory=dict)
    contacts_total: int = 0
    # The planner's generation: every (re)plan starts a new epoch (scheduling, resuming, redistributing).
    plan_epoch: int = 0
    credits_reserved: int = 0
    credits_returned: int = 0
    contacts_dialled: int = 0  # contacts whose first call was placed: their credits are spent
    wound_down_at: UtcInstant | None = None  # cancelled, and every call not yet placed cancelled too
    created_at: UtcInstant
    updated_at: UtcInstant


class CampaignContact(Model):
    """One contact of a campaign (or of a folder): ``index`` is its place in the order contacts were added."""

    model_config = ConfigDict(frozen=True)

    index: int
    contact: Contact
    status: ContactStatus = ContactStatus.PENDING
    scheduled_at: UtcInstant | None = None
    local_date: date | None = None
    phone_number_id: str | None = None
    attempts: int = 0
    row_id: str | None = None
    outcome: dict[str, Any] | None = None
    last_error: str | None = None
    # The plan (epoch) that gave the current slot, and whether the contact was pending before it: a planner
    # that resumes a batch written in part knows which contacts the counters have not moved yet.
    planned_in: int | None = None
    pending_before: bool | None = None
    added_at: UtcInstant
    updated_at: UtcInstant


class ContactFolder(Model):
    model_config = ConfigDict(frozen=True)

    id: str
    company_id: str
    name: str
    contacts_total: int = 0
    created_at: UtcInstant
    updated_at: UtcInstant


@dataclass(frozen=True)
class LiveCounters:
    """A campaign's progress now: read from its own partition (a few items), never a scan."""

    calls_placed_today: int  # on today's date in the campaign's timezone
    calls_in_flight: int  # holding one of the max_concurrent_calls slots
    next_due_at: datetime | None  # the earliest slot among the first contacts still scheduled


@dataclass(frozen=True)
class CampaignStats:
    """What a campaign's calls came to, kept as counters on its item (added to atomically as outcomes arrive)."""

    outcomes: dict[OutcomeKind, int]
    talk_seconds_total: float
    talk_histogram: dict[int, int]  # conversations per TALK_BUCKETS upper bound
    calls_per_day: dict[date, int]  # calls placed per local date (the planned day of each call)


@dataclass
class PlanProgress:
    """The checkpoint of one plan (``epoch``): the next contact index to look at and the slots taken per day."""

    epoch: int
    started_at: datetime
    next_index: int = 0
    taken: dict[date, int] = field(default_factory=dict)
    planned: int = 0
    lease_until: datetime | None = None
    resumed: bool = False  # taken over from a planner that stopped (or died) before finishing


@dataclass(frozen=True)
class DaySlot:
    """A slot of a local day a retry takes: the day's slots taken were ``seen`` (None: none yet), and are ``taken``
    with it."""

    local_date: date
    seen: int | None
    taken: int


@dataclass(frozen=True)
class PlannedContact:
    """A contact with its slot, and the row that calls it: new, or (``moved``) one of an earlier plan."""

    entry: CampaignContact
    row: Communication
    was_pending: bool
    moved: bool
