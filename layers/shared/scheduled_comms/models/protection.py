"""Recipient protection: the company's do-not-contact list (who must not be reached, on which channel)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints
from scheduled_comms.models.base import Model
from scheduled_comms.models.domain import Channel
from scheduled_comms.models.values import SingleLine, UtcInstant


class SuppressedChannel(StrEnum):
    """What an entry stops: one channel, or every channel that reaches the address."""

    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    ALL = "all"


# The list's channel for a row's channel.
ROW_CHANNEL: dict[Channel, SuppressedChannel] = {
    Channel.EMAIL: SuppressedChannel.EMAIL,
    Channel.SMS: SuppressedChannel.SMS,
    Channel.VOICE_CALL: SuppressedChannel.VOICE,
}

# A row that meets an entry ends skipped with this reason, its credit returned.
DO_NOT_CONTACT = "do_not_contact"

Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    SingleLine,
    Field(description="Why, e.g. `opt_out_reply`, `complaint`, `bounce`, `requested_on_call`"),
]


class DoNotContactPut(Model):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None
    expires_at: UtcInstant | None = Field(
        default=None, description="When the entry lapses (sends resume); absent: until it is deleted"
    )


class DoNotContactImportEntry(Model):
    model_config = ConfigDict(extra="forbid")

    channel: SuppressedChannel
    address: Annotated[str, StringConstraints(min_length=3, max_length=400)]
    reason: Reason | None = None
    expires_at: UtcInstant | None = None


class DoNotContactImport(Model):
    """Many entries at once (or the same as a ``text/csv`` body with a header row naming the fields)."""

    model_config = ConfigDict(extra="forbid")

    entries: Annotated[list[DoNotContactImportEntry], Field(min_length=1, max_length=1000)]


class DoNotContactEntry(Model):
    """One address kept from one channel (or all), as the API answers it."""

    channel: SuppressedChannel
    address: str = Field(description="The address as it is matched: an email address in lower case, or E.164")
    reason: str | None = None
    source: str = Field(description="`api`, `import`, `ses_feedback` or `voice_outcome`")
    expires_at: UtcInstant | None = None
    created_at: UtcInstant


class DoNotContactResponse(Model):
    data: DoNotContactEntry


class DoNotContactPage(Model):
    limit: int
    next_cursor: str | None = None


class DoNotContactList(Model):
    data: list[DoNotContactEntry]
    meta: DoNotContactPage


class DoNotContactImported(Model):
    imported: int = Field(description="Entries written (an entry already there is replaced)")


class DoNotContactImportResponse(Model):
    data: DoNotContactImported


class FrequencyCap(Model):
    """At most ``limit`` rows of ``channel`` reach one address in any ``window_hours`` (a rolling window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["email", "sms", "voice_call"]
    limit: Annotated[int, Field(ge=1, le=1000)]
    window_hours: Annotated[int, Field(ge=1, le=24 * 31)]


class FrequencyCaps(Model):
    """The company's caps, at most one a channel. A row marked ``transactional`` is not counted nor held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caps: Annotated[list[FrequencyCap], Field(max_length=3)] = Field(default_factory=list)

    def for_channel(self, channel: Channel) -> FrequencyCap | None:
        return next((cap for cap in self.caps if cap.channel == channel.value), None)


class FrequencyCapsResponse(Model):
    data: FrequencyCaps
