"""Domain entities: the scheduled communication, its channel and status, the caller and its scopes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict
from scheduled_comms.models.base import Model
from scheduled_comms.models.values import UtcInstant


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE_CALL = "voice_call"
    # Templated messages only (``logic.messages``): the communications API does not take them.
    PUSH = "push"
    IN_APP = "in_app"


class Status(StrEnum):
    PENDING = "pending"
    DISPATCHING = "dispatching"
    DISPATCHED = "dispatched"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Delivery(StrEnum):
    """What a crash between a send and its record may cost: a second message, or an unknown outcome.

    ``at_least_once`` sends again whoever takes the row over; ``at_most_once`` records that the send
    started first, and a row taken over with a send started but never recorded fails ``outcome_unknown``.
    Voice calls carry the provider's idempotency key, so neither mode places a call twice (the mode is moot).
    """

    AT_LEAST_ONCE = "at_least_once"
    AT_MOST_ONCE = "at_most_once"


class TimezoneSource(StrEnum):
    """Where the zone a row uses comes from: its own ``timezone``, or the company's default."""

    REQUEST = "request"
    COMPANY_DEFAULT = "company_default"


class Source(StrEnum):
    API = "api"
    CADENCE = "cadence"
    CAMPAIGN = "campaign"
    MESSAGE = "message"


class Scope(StrEnum):
    DISPATCHER_READ = "dispatcher:read"
    DISPATCHER_WRITE = "dispatcher:write"
    EMAIL_SEND = "email:send"
    SMS_SEND = "sms:send"
    CALLS_INITIATE = "calls:initiate"
    MESSAGES_READ = "messages:read"
    MESSAGES_WRITE = "messages:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    DO_NOT_CONTACT_READ = "do_not_contact:read"
    DO_NOT_CONTACT_WRITE = "do_not_contact:write"
    PUSH_SEND = "push:send"
    DEVICES_READ = "devices:read"
    DEVICES_WRITE = "devices:write"
    IN_APP_SEND = "in_app:send"
    IN_APP_READ = "in_app:read"
    IN_APP_WRITE = "in_app:write"


CHANNEL_SCOPE: dict[Channel, Scope] = {
    Channel.EMAIL: Scope.EMAIL_SEND,
    Channel.SMS: Scope.SMS_SEND,
    Channel.VOICE_CALL: Scope.CALLS_INITIATE,
    Channel.PUSH: Scope.PUSH_SEND,
    Channel.IN_APP: Scope.IN_APP_SEND,
}
# The channels the communications API creates rows on (push and in-app rows are templated messages).
COMMUNICATION_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.VOICE_CALL)
CHANNEL_SCOPES = tuple(CHANNEL_SCOPE[channel].value for channel in COMMUNICATION_CHANNELS)

# Dispatch attempts per row (transient failures are retried with backoff up to this many sends).
MAX_ATTEMPTS: dict[Channel, int] = {
    Channel.EMAIL: 3,
    Channel.SMS: 3,
    Channel.VOICE_CALL: 2,
    Channel.PUSH: 3,
    Channel.IN_APP: 3,
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the company an API key belongs to and the scopes it carries; or, with ``person_id``,
    one person of the company holding their inbox token, who may reach only that person's inbox."""

    company_id: str
    scopes: frozenset[str]
    key_id: str
    person_id: str | None = None

    def missing(self, *needed: Scope) -> list[str]:
        return [scope.value for scope in needed if scope.value not in self.scopes]


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: the SHA-256 of the key, never the key itself."""

    key_id: str
    company_id: str
    scopes: tuple[str, ...]
    secret_sha256: str
    created_at: str
    name: str | None = None
    revoked_at: str | None = None


class Communication(Model):
    """A scheduled communication as the service knows it (storage-independent)."""

    model_config = ConfigDict(frozen=True)

    id: str
    company_id: str
    channel: Channel
    status: Status
    scheduled_for: UtcInstant
    original_scheduled_for: UtcInstant | None = None
    timezone: str | None = None
    respect_business_hours: bool = False
    payload: dict[str, Any]
    contact_id: str | None = None
    customer_id: str | None = None
    deal_id: str | None = None
    related_entity_type: str | None = None
    related_entity_id: str | None = None
    # A client's own key: ``POST /scheduled-communications/cancel`` stops every pending row that carries it.
    cancellation_key: str | None = None
    # Exempt from the company's frequency caps (a receipt, a password reset): not counted, never held by them.
    transactional: bool = False
    cancel_policy: dict[str, Any] | None = None
    attempt_count: int = 0
    max_attempts: int
    last_error: str | None = None
    dispatched_external_id: str | None = None
    dispatched_at: UtcInstant | None = None
    cancelled_at: UtcInstant | None = None
    source: Source = Source.API
    delivery: Delivery = Delivery.AT_LEAST_ONCE
    created_at: UtcInstant
    updated_at: UtcInstant
    # Dispatch bookkeeping: the lease of the tick holding a dispatching row (attempt_count is its fence).
    lease_until: UtcInstant | None = None
    resend_of_attempt: int | None = None
    # at_most_once: the attempt whose send started and whose outcome is not recorded yet.
    send_started_attempt: int | None = None
    skip_reason: str | None = None
    # Voice cadence: every attempt links to the first row; ``cadence_next_id`` is the queued next attempt.
    cadence_id: str | None = None
    cadence_attempt: int | None = None
    cadence_next_id: str | None = None
    cadence_previous_id: str | None = None
    call_outcome: dict[str, Any] | None = None
    # A push message: what each device's endpoint answered (``models.push.PushDelivery`` as JSON).
    deliveries: list[dict[str, Any]] | None = None

    @property
    def recipient(self) -> str | None:
        """The address the row reaches (an email address in lower case, or an E.164 number); None if it names none.

        A templated message names it in its message (``payload.message.recipient``), other rows in the payload.
        """
        if self.channel in (Channel.PUSH, Channel.IN_APP):
            return None  # they reach a person's devices or inbox, not an address
        message = self.payload.get("message") if self.source is Source.MESSAGE else None
        if isinstance(message, dict):
            address = message.get("recipient")
        else:
            address = self.payload.get("to_email" if self.channel is Channel.EMAIL else "to_number")
        if not isinstance(address, str):
            return None
        return address.strip().lower() if "@" in address else address.strip()

    @property
    def intended_time(self) -> datetime:
        """When the caller wanted it sent, before any business-hours hold or retry moved it."""
        return self.original_scheduled_for or self.scheduled_for


@dataclass(frozen=True)
class DueRow:
    """A row the tick found due: pending and due, or dispatching with a lease that has run out."""

    company_id: str
    row_id: str
    channel: Channel
    due_at: datetime
    lease_expired: bool = False


@dataclass(frozen=True)
class IdempotencyClaim:
    """A create's Idempotency-Key, held by the company until ``expires_at``, with its request's fingerprint."""

    key: str
    fingerprint: str
    expires_at: datetime


@dataclass(frozen=True)
class HeldKey:
    """An Idempotency-Key held by an earlier request: its fingerprint, and its answer once it has one."""

    fingerprint: str
    answer: tuple[int, Any] | None


@dataclass(frozen=True)
class Created:
    """A new row was stored and its credit spent; ``credits_remaining`` is the balance after that spend."""

    credits_remaining: int


@dataclass(frozen=True)
class Replayed:
    """The Idempotency-Key had already created ``row``: nothing new was written."""

    row: Communication
    credits_remaining: int


TERMINAL = frozenset({Status.DISPATCHED, Status.FAILED, Status.CANCELLED, Status.SKIPPED})


@dataclass(frozen=True)
class ListFilters:
    """Filters of a list query; every one optional, all combinable."""

    status: Status | None = None
    channel: Channel | None = None
    contact_id: str | None = None
    deal_id: str | None = None
    customer_id: str | None = None

    def fingerprint(self) -> str:
        return "|".join(f"{name}={getattr(self, name) or ''}" for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class Match:
    """What a cancel by match names: ``field`` one of ``MATCH_FIELDS``, and its value (an address normalised)."""

    field: str
    value: str


MATCH_FIELDS = ("contact_id", "deal_id", "customer_id", "recipient", "cancellation_key")


@dataclass(frozen=True)
class Page:
    items: list[Communication]
    next_after_id: str | None


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SendResult:
    """What a sender reports: sent (with the provider's id), retry later, failed for good, or throttled:
    the provider refused for its rate, so nothing was sent and the send may simply be made again."""

    outcome: Literal["sent", "retry", "fail", "throttled"]
    external_id: str | None = None
    error: str | None = None
    # A send to several destinations (a push to each of a person's devices): each one's outcome, kept on the row.
    deliveries: tuple[dict[str, Any], ...] | None = None

    @classmethod
    def sent(cls, external_id: str, deliveries: tuple[dict[str, Any], ...] | None = None) -> SendResult:
        return cls("sent", external_id=external_id, deliveries=deliveries)

    @classmethod
    def retry(cls, error: str, deliveries: tuple[dict[str, Any], ...] | None = None) -> SendResult:
        return cls("retry", error=error, deliveries=deliveries)

    @classmethod
    def fail(cls, error: str, deliveries: tuple[dict[str, Any], ...] | None = None) -> SendResult:
        return cls("fail", error=error, deliveries=deliveries)

    @classmethod
    def throttled(cls, error: str) -> SendResult:
        return cls("throttled", error=error)
