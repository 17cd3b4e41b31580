"""Request and response shapes of the HTTP API (separate from the domain entity and the stored item)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scheduled_comms.models.base import Model
from scheduled_comms.models.business_hours import DEFAULT_TIMEZONE
from scheduled_comms.models.domain import Channel, Communication, Delivery, Source, Status, TimezoneSource
from scheduled_comms.models.values import (
    ClientTime,
    E164Number,
    EmailAddress,
    IanaTimezone,
    SingleLine,
    UtcInstant,
    Uuid,
    VariableMap,
)

# Limits stated in the README.
MAX_HTML_BODY_CHARS = 100_000
MAX_SMS_CHARS = 1_600
MAX_FOLLOW_UP_ATTEMPTS = 10
MAX_FOLLOW_UP_DELAY_HOURS = 720.0
MIN_FOLLOW_UP_DELAY_HOURS = 1 / 60  # one minute
MAX_SCHEDULE_AHEAD_DAYS = 366
PAST_TOLERANCE_SECONDS = 60

StrictInt = Annotated[int, Field(strict=True)]


class StrictModel(Model):
    """Input models reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


class CancelPolicy(StrictModel):
    """How a row stops being worth sending.

    ``expire_after_minutes``: if the row could only be dispatched later than this many minutes after
    its ``scheduled_for`` (held by business hours, retried, or a backlog), it is skipped instead of sent.
    """

    expire_after_minutes: Annotated[int, Field(strict=True, ge=1, le=525_600)] | None = None


class EmailPayload(StrictModel):
    to_email: EmailAddress
    subject: Annotated[str, StringConstraints(min_length=1, max_length=998), SingleLine]
    html_body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_HTML_BODY_CHARS)]
    from_email: EmailAddress | None = None
    to_name: Annotated[str, StringConstraints(min_length=1, max_length=200), SingleLine] | None = None
    cc: Annotated[list[EmailAddress], Field(max_length=20)] | None = None
    sender_user_id: Uuid | None = None
    mode: Literal["transactional", "marketing"] | None = Field(
        default=None, description="transactional (default) or marketing; sent along as an SES message tag"
    )
    contact_id: Uuid | None = None
    deal_id: Uuid | None = None
    customer_id: Uuid | None = None


class SmsPayload(StrictModel):
    phone_number_id: Uuid
    to_number: E164Number
    message_body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SMS_CHARS)]


class FollowUps(StrictModel):
    """A voice cadence: ``max_attempts`` calls in all, the next one ``follow_up_delays[k-1]`` hours later."""

    max_attempts: Annotated[int, Field(strict=True, ge=1, le=MAX_FOLLOW_UP_ATTEMPTS)]
    follow_up_delays: Annotated[
        list[Annotated[float, Field(ge=MIN_FOLLOW_UP_DELAY_HOURS, le=MAX_FOLLOW_UP_DELAY_HOURS, allow_inf_nan=False)]],
        Field(max_length=MAX_FOLLOW_UP_ATTEMPTS - 1),
    ]
    voice_agent_outbound_config_id: Uuid
    to_number: E164Number
    respect_business_hours: StrictBool | None = None
    dynamic_variables: VariableMap | None = None
    contact_id: Uuid | None = None
    customer_id: Uuid | None = None
    deal_id: Uuid | None = None

    @model_validator(mode="after")
    def _delays_match_attempts(self) -> FollowUps:
        if len(self.follow_up_delays) != self.max_attempts - 1:
            raise ValueError(
                f"follow_up_delays must hold exactly max_attempts - 1 = {self.max_attempts - 1} delays (hours)"
            )
        return self


class VoiceCallPayload(StrictModel):
    voice_agent_outbound_config_id: Uuid
    to_number: E164Number
    dynamic_variables: VariableMap | None = None
    metadata: VariableMap | None = None
    follow_ups: FollowUps | None = None


PAYLOAD_MODELS: dict[Channel, type[StrictModel]] = {
    Channel.EMAIL: EmailPayload,
    Channel.SMS: SmsPayload,
    Channel.VOICE_CALL: VoiceCallPayload,
}

DELIVERY_DESCRIPTION = (
    "What a crash between the provider accepting a message and the row recording it may cost. "
    "Omitted: the company's default (set by an admin with `scheduled-comms delivery set`), else at_least_once. "
    "at_least_once: the row is sent again, so an email or SMS may arrive twice. "
    "at_most_once: the row records that its send started before sending; if that attempt's outcome was "
    "never recorded, the row ends failed with last_error outcome_unknown instead of being sent again. "
    "Voice calls are never placed twice in either mode (the provider's idempotency key), so for voice_call "
    "the option is accepted but changes nothing."
)

EntityType = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$")]


SCHEDULED_FOR_DESCRIPTION = (
    "ISO 8601, kept to the second. With an offset (Z or ±hh:mm) it is that instant; without one it is a local "
    "time in the row's zone (timezone, else the company's business-hours zone; a 422 if neither is set): a "
    "time the clocks skip means the moment they jump past it, a repeated time its first pass. Not more than "
    "1 minute in the past nor 366 days ahead; answered as the UTC instant."
)
TIMEZONE_DESCRIPTION = (
    "IANA zone for business hours and for a scheduled_for without offset; omitted, the company's default"
)


CancellationKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    SingleLine,
    Field(
        description="Your own key (a deal, a sequence, a campaign of yours): "
        "`POST /v1/scheduled-communications/cancel` with it cancels every pending row that carries it"
    ),
]


class _CreateCommon(StrictModel):
    scheduled_for: ClientTime = Field(description=SCHEDULED_FOR_DESCRIPTION)
    timezone: IanaTimezone | None = Field(default=None, description=TIMEZONE_DESCRIPTION)
    respect_business_hours: StrictBool = False
    contact_id: Uuid | None = None
    customer_id: Uuid | None = None
    deal_id: Uuid | None = None
    related_entity_type: EntityType | None = None
    related_entity_id: Uuid | None = Field(default=None, validate_default=True)
    cancel_policy: CancelPolicy | None = None
    cancellation_key: CancellationKey | None = None
    transactional: StrictBool | None = Field(
        default=None,
        description="exempt from the company's frequency caps; omitted: true for an email whose mode is "
        "transactional (the default), false otherwise",
    )
    # Omitted means the company's default; null is not a mode.
    delivery: Delivery = Field(default=None, validate_default=False, description=DELIVERY_DESCRIPTION)  # type: ignore[assignment]

    @field_validator("related_entity_id")
    @classmethod
    def _related_entity_in_pairs(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "related_entity_type" in info.data and (info.data["related_entity_type"] is None) != (value is None):
            raise ValueError("related_entity_type and related_entity_id are given together, or neither")
        return value


class CreateEmail(_CreateCommon):
    channel: Literal["email"]
    payload: EmailPayload

    @model_validator(mode="after")
    def _links_from_the_payload(self) -> CreateEmail:
        """The spec's email example carries contact_id (and deal_id, customer_id) in the payload: when the
        row's own field is absent, the payload's is the row's, so filters find it."""
        for name in ("contact_id", "deal_id", "customer_id"):
            if getattr(self, name) is None and getattr(self.payload, name) is not None:
                setattr(self, name, getattr(self.payload, name))
        return self


class CreateSms(_CreateCommon):
    channel: Literal["sms"]
    payload: SmsPayload


class CreateVoiceCall(_CreateCommon):
    channel: Literal["voice_call"]
    payload: VoiceCallPayload


CreateCommunicationRequest = Annotated[CreateEmail | CreateSms | CreateVoiceCall, Field(discriminator="channel")]


class UpdateCommunicationRequest(StrictModel):
    """PATCH body: any of the editable fields; the payload is replaced whole and checked against the channel."""

    # Omitted means unchanged; these three cannot be null.
    scheduled_for: ClientTime = Field(default=None, validate_default=False, description=SCHEDULED_FOR_DESCRIPTION)  # type: ignore[assignment]
    timezone: IanaTimezone | None = Field(default=None, description="null returns to the company default")
    respect_business_hours: StrictBool = Field(default=None, validate_default=False)  # type: ignore[assignment]
    payload: dict[str, Any] = Field(default=None, validate_default=False)  # type: ignore[call-overload]
    cancel_policy: CancelPolicy | None = Field(default=None, description="null removes the policy")


EDITABLE_FIELDS = tuple(UpdateCommunicationRequest.model_fields)


class CommunicationOut(Model):
    """A scheduled communication as the API returns it."""

    id: str
    channel: Channel
    status: Status
    scheduled_for: UtcInstant
    original_scheduled_for: UtcInstant | None
    timezone: str = Field(
        description="the zone the row uses: its own, else the company's business-hours zone (UTC until set)"
    )
    timezone_source: TimezoneSource = Field(
        description="request: the row names its zone; company_default: it follows the company's default"
    )
    respect_business_hours: bool
    payload: dict[str, Any]
    contact_id: str | None
    customer_id: str | None
    deal_id: str | None
    related_entity_type: str | None
    related_entity_id: str | None
    cancellation_key: str | None = None
    transactional: bool = False
    cancel_policy: dict[str, Any] | None
    attempt_count: int
    max_attempts: int
    last_error: str | None
    dispatched_external_id: str | None
    dispatched_at: UtcInstant | None
    cancelled_at: UtcInstant | None
    source: Source
    delivery: Delivery = Field(description=DELIVERY_DESCRIPTION)
    created_at: UtcInstant
    updated_at: UtcInstant
    skip_reason: str | None
    cadence_id: str | None = Field(description="id of the first call of a voice cadence")
    cadence_attempt: int | None = Field(description="which call of the cadence this row is (1-based)")
    call_outcome: dict[str, Any] | None = Field(description="answered, talk_seconds, end_reason from the provider")

    @classmethod
    def of(cls, row: Communication, company_zone: str | None) -> CommunicationOut:
        """``row`` as answered; ``company_zone`` is the company's business-hours zone (None if never set)."""
        return cls.model_validate(
            {
                **row.model_dump(include=set(cls.model_fields)),
                "timezone": row.timezone or company_zone or DEFAULT_TIMEZONE,
                "timezone_source": TimezoneSource.REQUEST if row.timezone else TimezoneSource.COMPANY_DEFAULT,
            }
        )


class CreditsMeta(Model):
    credits_remaining: int


class ListMeta(CreditsMeta):
    limit: int
    next_cursor: str | None


class CommunicationResponse(Model):
    data: CommunicationOut
    meta: CreditsMeta


class CommunicationListResponse(Model):
    data: list[CommunicationOut]
    meta: ListMeta


class ErrorDetail(Model):
    field: str
    message: str


class ErrorBody(Model):
    code: str
    message: str
    details: list[ErrorDetail] = []  # noqa: RUF012 (pydantic copies a default; ruff cannot see Model is pydantic)


class ErrorResponse(Model):
    error: ErrorBody


class FlatErrorResponse(Model):
    """Spec 002's error shape (the messages, templates and brands routes)."""

    error: str = Field(description="the error code, e.g. validation_error")
    message: str = Field(description="what went wrong, naming the first field at fault")
    details: list[ErrorDetail] = []  # noqa: RUF012 (pydantic copies a default)


class HealthResponse(Model):
    status: Literal["ok"]
    version: str
    time: UtcInstant


class CancelMatchingRequest(StrictModel):
    """Exactly one of the fields that name rows, and the cursor of the answer before, to go on."""

    contact_id: Uuid | None = None
    deal_id: Uuid | None = None
    customer_id: Uuid | None = None
    to_number: E164Number | None = None
    to_email: EmailAddress | None = None
    cancellation_key: CancellationKey | None = None
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, description="`next_cursor` of the answer before: go on with the rows it had not reached"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CancelMatchingRequest:
        given = [name for name in MATCHED_BY if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(MATCHED_BY)}")
        return self


MATCHED_BY = ("contact_id", "deal_id", "customer_id", "to_number", "to_email", "cancellation_key")


class CancelMatchingResult(Model):
    cancelled: int = Field(description="pending rows this request cancelled")
    matched: int = Field(description="rows this request read (pending or not)")
    next_cursor: str | None = Field(
        description="more rows may match: send the same body with this cursor (null: every match was reached)"
    )


class CancelMatchingResponse(Model):
    data: CancelMatchingResult
