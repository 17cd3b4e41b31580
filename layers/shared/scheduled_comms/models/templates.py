"""Message templates (spec 002): parts per channel, rendered with variables at send time."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator
from scheduled_comms.models.base import Model

TemplateKey = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"),
    Field(description="A template's key: letters, digits, `_`, `.` and `-`, at most 128 characters"),
]

# Template sources are bounded so that compiling one stays cheap; what they render to is bounded separately
# (``logic.templates.RENDER_LIMITS``).
_Source = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
_ShortSource = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]


class MessageChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"


class _Part(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailPart(_Part):
    subject: _ShortSource
    html: _Source
    text: _Source | None = None


class SmsPart(_Part):
    body: _ShortSource


class PushPart(_Part):
    title: _ShortSource
    body: _ShortSource
    data: Annotated[
        dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")], _ShortSource], Field(max_length=20)
    ] = Field(default_factory=dict, description="custom keys delivered beside the alert; each value a template")
    badge: _ShortSource | None = Field(default=None, description="renders to a whole number from 0 to 9999")
    sound: _ShortSource | None = None


class InAppPart(_Part):
    title: _ShortSource
    body: _Source
    action_url: _ShortSource | None = None


class TemplateParts(_Part):
    """What a template says on each channel it supports; at least one."""

    email: EmailPart | None = None
    sms: SmsPart | None = None
    push: PushPart | None = None
    in_app: InAppPart | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> TemplateParts:
        if not self.channels():
            raise ValueError("must give the template's text for at least one channel (email, sms, push, in_app)")
        return self

    def channels(self) -> list[MessageChannel]:
        return [channel for channel in MessageChannel if getattr(self, channel.value) is not None]

    def sources(self, channel: MessageChannel) -> dict[str, str]:
        """The channel's template sources by field name (``data`` entries as ``data.<key>``)."""
        part = getattr(self, channel.value)
        if part is None:
            return {}
        found: dict[str, str] = {}
        for name, value in part.model_dump(exclude_none=True).items():
            if isinstance(value, dict):
                found.update({f"{name}.{key}": text for key, text in value.items()})
            else:
                found[name] = value
        return found


class TemplateDefinition(Model):
    """The body of ``PUT /templates/{template_key}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parts: TemplateParts
    variables_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema (draft 2020-12) the variables of a message must satisfy"
    )
    phi_safe: bool = Field(
        default=False,
        description="The template's text holds no protected health information, so HIPAA messages may use it on SMS "
        "and push",
    )
