"""Templated messages (spec 002): the request and answer shapes, brands and stored templates.

A message is stored as an ordinary row of the dispatch engine (email, SMS, push or in-app), whose payload names the
template version, brand, person and variables instead of the finished text; the tick renders it when it
sends it. ``MessageOut`` maps such a row back to the spec's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints
from scheduled_comms.models.base import Model
from scheduled_comms.models.domain import Communication, Status
from scheduled_comms.models.push import PushApps, PushDelivery
from scheduled_comms.models.registry import DisplayName
from scheduled_comms.models.templates import MessageChannel, TemplateDefinition, TemplateKey
from scheduled_comms.models.values import ClientTime, EmailAddress, IanaTimezone, SingleLine, UtcInstant, Uuid

ClientKey = Annotated[str, StringConstraints(min_length=1, max_length=255), SingleLine]
BrandId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
# The payload key that marks a row as a templated message.
MESSAGE_PAYLOAD_KEY = "message"
MAX_VARIABLES_BYTES = 32 * 1024
# A HIPAA message's payload holds its variables sealed here (``adapters.sealing``), never in plain text.
SEALED_VARIABLES = "sealed_variables"
# Says on a schedule's answer whether it repeated an earlier request (the first message answered again).
DEDUPLICATED_HEADER = "X-Deduplicated"


def seal_context(company_id: str, message_id: str) -> dict[str, str]:
    """What a HIPAA message's sealed variables are bound to: they open for this message only."""
    return {"company_id": company_id, "message_id": message_id, "purpose": "message-variables"}


class ScheduleMessageRequest(Model):
    """The body of ``POST /v1/messages/schedule``, as the spec has it (plus optional business-hours extras)."""

    model_config = ConfigDict(extra="forbid")

    channel: MessageChannel
    template_key: TemplateKey
    recipient: Annotated[str, StringConstraints(min_length=1, max_length=320)] = Field(
        description="an email address for email, an E.164 number for sms"
    )
    brand_id: BrandId
    person_id: ClientKey
    variables: dict[str, Any] = Field(default_factory=dict)
    dedup_key: ClientKey = Field(
        description="one message per company, brand, person, channel and key; a repeat answers the first"
    )
    hipaa: bool = Field(
        default=False, description="variables and rendered text are encrypted, never logged or returned, and purged"
    )
    scheduled_at: ClientTime
    timezone: IanaTimezone | None = Field(
        default=None, description="IANA zone for business hours and a scheduled_at without offset"
    )
    respect_business_hours: bool = False


# What the spec calls each status of the engine's rows.
MESSAGE_STATUS = {
    Status.PENDING: "scheduled",
    Status.DISPATCHING: "sending",
    Status.DISPATCHED: "sent",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
    Status.SKIPPED: "skipped",
}
STATUS_OF_MESSAGE = {name: status for status, name in MESSAGE_STATUS.items()}


class MessageOut(Model):
    """A message as the API returns it: every field of the spec's 201 answer, then some."""

    id: str
    brand_id: str
    person_id: str
    channel: MessageChannel
    template_key: str
    template_version: int
    recipient: str
    dedup_key: str
    scheduled_at: UtcInstant
    status: str = Field(description="scheduled, sending, sent, failed, cancelled or skipped")
    sent_at: UtcInstant | None
    cancelled_at: UtcInstant | None
    failure_reason: str | None
    created_at: UtcInstant
    hipaa: bool
    variables: dict[str, Any] | None = Field(
        description="the message's variables; null for HIPAA messages, whose values are never returned"
    )
    variable_names: list[str] = Field(description="the names of the variables given (also for HIPAA messages)")
    attempt_count: int
    provider_message_id: str | None
    deliveries: list[PushDelivery] | None = Field(
        default=None, description="a push: what each device's endpoint answered (null before it is sent)"
    )

    @classmethod
    def of(cls, row: Communication) -> MessageOut:
        message = row.payload[MESSAGE_PAYLOAD_KEY]
        failure = row.last_error if row.status is Status.FAILED else row.skip_reason
        return cls(
            id=row.id,
            brand_id=message["brand_id"],
            person_id=message["person_id"],
            channel=MessageChannel(message["channel"]),
            template_key=message["template_key"],
            template_version=message["template_version"],
            recipient=message["recipient"],
            dedup_key=message["dedup_key"],
            scheduled_at=row.scheduled_for,
            status=MESSAGE_STATUS[row.status],
            sent_at=row.dispatched_at,
            cancelled_at=row.cancelled_at,
            failure_reason=failure if row.status in (Status.FAILED, Status.SKIPPED) else None,
            created_at=row.created_at,
            hipaa=bool(message.get("hipaa")),
            variables=None if message.get("hipaa") else message.get("variables", {}),
            variable_names=message.get("variable_names", []),
            attempt_count=row.attempt_count,
            provider_message_id=row.dispatched_external_id,
            deliveries=[PushDelivery.model_validate(entry) for entry in row.deliveries]
            if row.deliveries is not None
            else None,
        )


@dataclass(frozen=True)
class MessageFilters:
    """Filters of ``GET /v1/messages``; every one optional, all combinable."""

    person_id: str | None = None
    brand_id: str | None = None
    status: str | None = None
    channel: MessageChannel | None = None
    template_key: str | None = None

    def fingerprint(self) -> str:
        return "message|" + "|".join(f"{name}={getattr(self, name) or ''}" for name in self.__dataclass_fields__)

    def keeps(self, message: MessageOut) -> bool:
        return (self.brand_id is None or message.brand_id == self.brand_id) and (
            self.template_key is None or message.template_key == self.template_key
        )


class MessageListMeta(Model):
    limit: int
    next_cursor: str | None


class MessageList(Model):
    data: list[MessageOut]
    meta: MessageListMeta


class BrandPut(Model):
    """The body of ``PUT /v1/brands/{brand_id}``."""

    model_config = ConfigDict(extra="forbid")

    name: DisplayName
    from_email: EmailAddress | None = Field(
        default=None, description="emails of the brand go out from it; within the company's sender domain"
    )
    reply_to: EmailAddress | None = None
    phone_number_id: Uuid | None = Field(default=None, description="a registered number SMS of the brand go out from")
    variables: Annotated[dict[Annotated[str, StringConstraints(max_length=64)], Any], Field(max_length=100)] = Field(
        default_factory=dict, description="values templates read as brand.variables.<name>"
    )
    push_apps: PushApps | None = Field(
        default=None, description="the SNS platform application per platform that the brand's pushes go out through"
    )


class Brand(BrandPut):
    model_config = ConfigDict(extra="ignore")

    id: str
    updated_at: UtcInstant

    def template_view(self) -> dict[str, Any]:
        """What templates see as ``brand``."""
        return {"id": self.id, "name": self.name, "variables": self.variables}


class BrandList(Model):
    data: list[Brand]


class StoredTemplate(TemplateDefinition):
    """One version of a template, as stored (write-once) and answered."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    version: int
    created_at: UtcInstant


class TemplateList(Model):
    data: list[StoredTemplate]
