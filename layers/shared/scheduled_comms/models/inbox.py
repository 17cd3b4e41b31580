"""The in-app inbox: a person's entries (one per in-app message, landed when the tick sends it), their marks,
the feed's counts, and the per-person token a browser or app reads the inbox with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field
from scheduled_comms.models.base import Model
from scheduled_comms.models.values import UtcInstant


class InboxStatus(StrEnum):
    UNREAD = "unread"
    READ = "read"
    ARCHIVED = "archived"


class InboxMark(StrEnum):
    """What a person does to an entry: each implies the ones before it (archiving reads, reading sees)."""

    SEEN = "seen"
    READ = "read"
    ARCHIVE = "archive"


class InboxEntry(Model):
    """An entry as stored."""

    message_id: str
    person_id: str
    brand_id: str
    template_key: str
    title: str
    body: str
    action_url: str | None = None
    landed_at: UtcInstant
    seen_at: UtcInstant | None = None
    read_at: UtcInstant | None = None
    archived_at: UtcInstant | None = None

    @property
    def status(self) -> InboxStatus:
        if self.archived_at is not None:
            return InboxStatus.ARCHIVED
        return InboxStatus.READ if self.read_at is not None else InboxStatus.UNREAD

    def marked(self, mark: InboxMark, now: datetime) -> InboxEntry:
        """The entry with ``mark`` (and the marks it implies) set where not set yet."""
        changes: dict[str, datetime] = {}
        implied = {InboxMark.SEEN: ("seen_at",), InboxMark.READ: ("seen_at", "read_at")}.get(
            mark, ("seen_at", "read_at", "archived_at")
        )
        for name in implied:
            if getattr(self, name) is None:
                changes[name] = now
        return self.model_copy(update=changes)


class InboxEntryOut(Model):
    """An entry as the feed answers it."""

    id: str = Field(description="the in-app message's id")
    brand_id: str
    template_key: str
    title: str
    body: str
    action_url: str | None
    status: InboxStatus
    seen: bool
    landed_at: UtcInstant
    seen_at: UtcInstant | None
    read_at: UtcInstant | None
    archived_at: UtcInstant | None

    @classmethod
    def of(cls, entry: InboxEntry) -> InboxEntryOut:
        return cls(
            id=entry.message_id,
            brand_id=entry.brand_id,
            template_key=entry.template_key,
            title=entry.title,
            body=entry.body,
            action_url=entry.action_url,
            status=entry.status,
            seen=entry.seen_at is not None,
            landed_at=entry.landed_at,
            seen_at=entry.seen_at,
            read_at=entry.read_at,
            archived_at=entry.archived_at,
        )


@dataclass(frozen=True)
class InboxHead:
    """The inbox's counts and its version (bumped by every landing and mark: the feed's ETag)."""

    unseen: int = 0
    unread: int = 0
    version: int = 0


@dataclass(frozen=True)
class InboxPage:
    entries: list[InboxEntry]
    next_after: str | None


@dataclass(frozen=True)
class InboxFilters:
    """What a feed cursor is bound to: the person and the status filter."""

    person_id: str
    status: InboxStatus | None

    def fingerprint(self) -> str:
        return f"inbox|{self.person_id}|{self.status or ''}"


class InboxMeta(Model):
    limit: int
    next_cursor: str | None
    unseen: int = Field(description="entries the person has not seen (archived ones are seen)")
    unread: int = Field(description="entries the person has not read (archived ones are read)")


class InboxFeed(Model):
    data: list[InboxEntryOut]
    meta: InboxMeta


class InboxCounts(Model):
    unseen: int
    unread: int


class MarkAllReadResult(Model):
    marked: int = Field(description="entries that were unread and are read now")
    meta: InboxCounts


class PersonTokenOut(Model):
    person_id: str
    token: str = Field(
        description="Authorization: Bearer <token> reads and marks this person's inbox only (GET /v1/people/"
        "{person_id}/inbox and its marks); it holds no other right. An HMAC of the person_id under the company's "
        "inbox secret: it stays valid until the stack's inbox secret is rotated"
    )


@dataclass(frozen=True)
class FeedAnswer:
    """A feed read: the feed (None when the client's copy is current) and its ETag."""

    feed: InboxFeed | None
    etag: str
