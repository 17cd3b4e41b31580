"""Request and response shapes of the batch-call (campaign) and contact-folder routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationError
from scheduled_comms.errors import ValidationFailed, field_errors
from scheduled_comms.models.base import Model
from scheduled_comms.models.campaigns import (
    TALK_BUCKETS,
    Campaign,
    CampaignContact,
    CampaignStats,
    CampaignStatus,
    ClockTime,
    ContactFolder,
    ContactSource,
    ContactStatus,
    ContactTimezone,
    DeliverySettings,
    EndClockTime,
    LiveCounters,
    OutcomeKind,
    PhoneRotation,
    RegionCode,
    RetryPolicy,
    ScheduleType,
    _unique,
)
from scheduled_comms.models.values import IanaTimezone, SingleLine, UtcInstant, Uuid, VariableMap

MAX_PHONE_NUMBERS = 20
CampaignName = Annotated[str, StringConstraints(min_length=1, max_length=200), SingleLine]
PhoneNumberIds = Annotated[list[Uuid], Field(max_length=MAX_PHONE_NUMBERS), AfterValidator(_unique)]


class CreateCampaignRequest(DeliverySettings):
    """A new batch call: who calls (``agent_id``, a registered voice-agent config; ``phone_number_ids``,
    registered numbers), whom (``contact_source``: ``inline`` contacts, a ``folder``, or ``none`` for a draft
    that gets contacts later) and when (the delivery settings). Created as a draft; ``POST .../schedule``
    plans it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: CampaignName
    agent_id: Uuid | None = None
    phone_number_ids: PhoneNumberIds = Field(default_factory=list)
    contact_source: ContactSource = ContactSource.NONE
    contacts: Annotated[list[Any], Field(description="Up to 1,000 contacts (contact_source inline)")] | None = None
    default_region: RegionCode | None = Field(
        default=None, description="Region of national numbers in contacts (ISO 3166, e.g. US); E.164 otherwise"
    )
    contact_folder_id: Uuid | None = None
    dynamic_variables: VariableMap = Field(default_factory=dict)

    def delivery_settings(self) -> DeliverySettings:
        """The delivery settings the request gives (checked as the request was: a failure here is a 422)."""
        try:
            return DeliverySettings.model_validate(self.model_dump(include=set(DeliverySettings.model_fields)))
        except ValidationError as exc:
            raise ValidationFailed(
                "The delivery settings are not valid; see details", field_errors(exc.errors())
            ) from None


class UpdateCampaignRequest(Model):
    """What a PATCH may change; every field optional. Checked together with what it leaves as it is."""

    model_config = ConfigDict(extra="forbid")

    name: CampaignName | None = None
    scheduled_at: UtcInstant | None = None
    timezone: IanaTimezone | None = None
    start_time: ClockTime | None = None
    end_time: EndClockTime | None = None
    working_days: list[Annotated[int, Field(strict=True, ge=1, le=7)]] | None = None
    max_calls_per_day: Annotated[int, Field(strict=True, ge=1)] | None = None
    max_concurrent_calls: Annotated[int, Field(strict=True, ge=1)] | None = None
    excluded_dates: list[date] | None = None


class ContactCounts(Model):
    total: int
    by_status: dict[ContactStatus, int]


class LiveOut(Model):
    """A batch call's progress now (``GET /batch-calls/{id}`` only)."""

    calls_placed_today: int
    calls_in_flight: int
    next_due_at: datetime | None

    @classmethod
    def of(cls, live: LiveCounters) -> LiveOut:
        return cls(
            calls_placed_today=live.calls_placed_today,
            calls_in_flight=live.calls_in_flight,
            next_due_at=live.next_due_at,
        )


class CampaignOut(Model):
    id: str
    name: str
    status: CampaignStatus
    agent_id: str | None
    phone_number_ids: list[str]
    phone_rotation: PhoneRotation
    contact_source: ContactSource
    contact_folder_id: str | None
    schedule_type: ScheduleType
    scheduled_at: datetime | None
    timezone: str
    start_time: str
    end_time: str
    working_days: list[int]
    max_calls_per_day: int
    max_concurrent_calls: int
    excluded_dates: list[date]
    contact_timezone: ContactTimezone
    retry: RetryPolicy
    dynamic_variables: dict[str, Any]
    contacts: ContactCounts
    credits_reserved: int
    credits_returned: int
    created_at: datetime
    updated_at: datetime
    live: LiveOut | None = None

    @classmethod
    def of(cls, campaign: Campaign, live: LiveCounters | None = None) -> CampaignOut:
        settings = campaign.settings
        return cls(
            **settings.model_dump(),
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            agent_id=campaign.agent_id,
            phone_number_ids=campaign.phone_number_ids,
            contact_source=campaign.contact_source,
            contact_folder_id=campaign.contact_folder_id,
            dynamic_variables=campaign.dynamic_variables,
            contacts=ContactCounts(
                total=campaign.contacts_total,
                by_status={status: campaign.counts.get(status, 0) for status in ContactStatus},
            ),
            credits_reserved=campaign.credits_reserved,
            credits_returned=campaign.credits_returned,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            live=LiveOut.of(live) if live else None,
        )


class CampaignResponse(Model):
    data: CampaignOut


class PageMeta(Model):
    limit: int
    next_cursor: str | None


class CampaignListResponse(Model):
    data: list[CampaignOut]
    meta: PageMeta


class ContactOut(Model):
    index: int
    phone_number: str
    name: str | None
    contact_id: str | None
    timezone: str | None
    dynamic_variables: dict[str, Any]
    status: ContactStatus
    scheduled_at: datetime | None
    phone_number_id: str | None
    attempts: int
    outcome: dict[str, Any] | None
    last_error: str | None

    @classmethod
    def of(cls, entry: CampaignContact) -> ContactOut:
        person = entry.contact
        return cls(
            index=entry.index,
            phone_number=person.phone_number,
            name=person.name,
            contact_id=person.contact_id,
            timezone=person.timezone,
            dynamic_variables=dict(person.dynamic_variables),
            status=entry.status,
            scheduled_at=entry.scheduled_at,
            phone_number_id=entry.phone_number_id,
            attempts=entry.attempts,
            outcome=entry.outcome,
            last_error=entry.last_error,
        )


class ContactListResponse(Model):
    data: list[ContactOut]
    meta: PageMeta


class ContactsAdded(Model):
    added: int
    contacts_total: int


class ContactsAddedResponse(Model):
    data: ContactsAdded


class CreateFolderRequest(Model):
    """A contact folder: a list of contacts campaigns can call (``contact_source: folder``)."""

    model_config = ConfigDict(extra="forbid")

    name: CampaignName
    contacts: Annotated[list[Any], Field(description="Up to 1,000 contacts to start with")] | None = None
    default_region: RegionCode | None = None


class FolderOut(Model):
    id: str
    name: str
    contacts_total: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, folder: ContactFolder) -> FolderOut:
        return cls(**folder.model_dump(exclude={"company_id"}))


class FolderResponse(Model):
    data: FolderOut


class FolderListResponse(Model):
    data: list[FolderOut]
    meta: PageMeta


class ConversationSeconds(Model):
    """Over the calls that were conversations; ``p50`` to the upper bound of its histogram bucket."""

    total: float
    mean: float | None
    p50: float | None


class DayCalls(Model):
    date: date
    calls: int


class AnalyticsOut(Model):
    batch_call_id: str
    status: CampaignStatus
    contacts: ContactCounts
    outcomes: dict[OutcomeKind, int]
    calls_with_outcome: int
    calls_placed: int
    connect_rate: float | None  # conversations over calls with an outcome
    conversation_seconds: ConversationSeconds
    calls_per_day: list[DayCalls]  # calls placed per local date
    credits_spent: int

    @classmethod
    def of(cls, campaign: Campaign, stats: CampaignStats) -> AnalyticsOut:
        ended = sum(stats.outcomes.values())
        conversations = stats.outcomes.get(OutcomeKind.CONVERSATION, 0)
        return cls(
            batch_call_id=campaign.id,
            status=campaign.status,
            contacts=ContactCounts(
                total=campaign.contacts_total,
                by_status={status: campaign.counts.get(status, 0) for status in ContactStatus},
            ),
            outcomes={kind: stats.outcomes.get(kind, 0) for kind in OutcomeKind},
            calls_with_outcome=ended,
            calls_placed=sum(stats.calls_per_day.values()),
            connect_rate=round(conversations / ended, 4) if ended else None,
            conversation_seconds=ConversationSeconds(
                total=stats.talk_seconds_total,
                mean=round(stats.talk_seconds_total / conversations, 2) if conversations else None,
                p50=_median_bucket(stats.talk_histogram),
            ),
            calls_per_day=[DayCalls(date=day, calls=calls) for day, calls in sorted(stats.calls_per_day.items())],
            credits_spent=campaign.contacts_dialled,
        )


def _median_bucket(histogram: dict[int, int]) -> float | None:
    count, seen = sum(histogram.values()), 0
    for bound in TALK_BUCKETS:
        seen += histogram.get(bound, 0)
        if count and seen * 2 >= count:
            return float(bound)
    return None


class AnalyticsResponse(Model):
    data: AnalyticsOut
