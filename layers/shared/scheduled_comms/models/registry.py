"""What a company registers for sending: SMS sender numbers, voice-agent configurations, users' email senders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, HttpUrl, StringConstraints
from scheduled_comms.models.base import Model
from scheduled_comms.models.values import E164Number, EmailAddress, SingleLine, UtcInstant

Label = Annotated[str, StringConstraints(min_length=1, max_length=100), SingleLine]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200), SingleLine]  # in a mail header
Secret = Annotated[str, StringConstraints(min_length=16, max_length=512), SingleLine]  # sent in a header


class PhoneNumberCreate(Model):
    model_config = ConfigDict(extra="forbid")

    number: E164Number
    label: Label | None = None


class PhoneNumber(Model):
    """A sender number; SMS rows name it by ``phone_number_id``."""

    id: str
    number: str
    label: str | None = None
    created_at: UtcInstant


class VoiceAgentConfigCreate(Model):
    """How to place a call through the provider: its endpoint, agent and credentials."""

    model_config = ConfigDict(extra="forbid")

    name: Label
    provider: Literal["http"] = Field(default="http", description="a provider speaking the documented HTTP contract")
    endpoint_url: HttpUrl = Field(description="HTTPS endpoint that places a call (POST)")
    agent_id: Annotated[str, StringConstraints(min_length=1, max_length=200), SingleLine]
    api_key: Secret = Field(description="bearer credential for the provider; stored in Secrets Manager, never returned")
    webhook_secret: Secret | None = Field(
        default=None, description="HMAC key the provider signs outcome webhooks with; generated when omitted"
    )


class VoiceAgentConfig(Model):
    id: str
    name: str
    provider: str
    endpoint_url: str
    agent_id: str
    created_at: UtcInstant


class VoiceAgentConfigCreated(VoiceAgentConfig):
    webhook_secret: str = Field(description="shown once: give it to the provider to sign outcome webhooks")


class VoiceCredentials(Model):
    api_key: str
    webhook_secret: str


class SenderSettings(Model):
    model_config = ConfigDict(extra="forbid")

    default_from_email: EmailAddress | None = None


class UserSenderPut(Model):
    """The address, and display name, a user's emails go out from."""

    model_config = ConfigDict(extra="forbid")

    from_email: EmailAddress = Field(
        description="an address in the domain of the company's sender (`scheduled-comms senders set`)"
    )
    from_name: DisplayName | None = Field(default=None, description="the display name, e.g. Sarah at Acme")


class UserSender(Model):
    """A user's sender: email rows that name the user in ``payload.sender_user_id`` go out from it."""

    user_id: str
    from_email: str
    from_name: str | None = None
    updated_at: UtcInstant


class UserSenderResponse(Model):
    data: UserSender


class UserSenderList(Model):
    data: list[UserSender]


class PhoneNumberResponse(Model):
    data: PhoneNumber


class PhoneNumberList(Model):
    data: list[PhoneNumber]


class VoiceAgentConfigCreatedResponse(Model):
    data: VoiceAgentConfigCreated


class VoiceAgentConfigList(Model):
    data: list[VoiceAgentConfig]
