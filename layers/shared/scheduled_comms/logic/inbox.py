"""The in-app inbox's use cases: the feed (with an ETag a polling client answers If-None-Match with), marking
entries seen, read or archived, marking all read, and the per-person token.

A caller holding a person's token reaches that person's inbox only: any other person's is a 404, so a token
tells nothing about whom else the company has."""

from __future__ import annotations

import hashlib
from datetime import datetime

from scheduled_comms.errors import Conflict, Forbidden, NotFound
from scheduled_comms.logic.auth import person_token, require_scopes
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.models.domain import Caller, Scope
from scheduled_comms.models.inbox import (
    FeedAnswer,
    InboxCounts,
    InboxEntryOut,
    InboxFeed,
    InboxFilters,
    InboxMark,
    InboxMeta,
    InboxStatus,
    MarkAllReadResult,
    PersonTokenOut,
)
from scheduled_comms.ports import InboxStore

# A mark that loses a race with another mark of the same entry reads the entry again, this many times.
MARK_ATTEMPTS = 3
# Entries one mark-all-read marks at most (a client calls it again while ``marked`` is this many).
MARK_ALL_LIMIT = 500


def _reach(caller: Caller, person_id: str, *needed: Scope) -> None:
    if caller.person_id is not None and caller.person_id != person_id:
        raise NotFound("No inbox here")
    require_scopes(caller, *needed)


def feed_etag(version: int, filters: InboxFilters, cursor: str | None, limit: int) -> str:
    digest = hashlib.sha256(f"{version}|{filters.fingerprint()}|{cursor or ''}|{limit}".encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    given = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in given or etag in given or etag.removeprefix("W/") in given


def read_feed(
    store: InboxStore,
    caller: Caller,
    person_id: str,
    status: InboxStatus | None,
    limit: int,
    cursor: str | None,
    if_none_match: str | None,
    cursor_key: bytes,
) -> FeedAnswer:
    """The person's inbox, newest first, with the counts; ``feed`` None when ``if_none_match`` is current."""
    _reach(caller, person_id, Scope.IN_APP_READ)
    filters = InboxFilters(person_id=person_id, status=status)
    after = decode_cursor(cursor, caller.company_id, filters, cursor_key) if cursor else None
    head = store.head(caller.company_id, person_id)
    etag = feed_etag(head.version, filters, cursor, limit)
    if _matches(if_none_match, etag):
        return FeedAnswer(feed=None, etag=etag)
    page = store.page(caller.company_id, person_id, status, limit, after)
    next_cursor = encode_cursor(page.next_after, caller.company_id, filters, cursor_key) if page.next_after else None
    feed = InboxFeed(
        data=[InboxEntryOut.of(entry) for entry in page.entries],
        meta=InboxMeta(limit=limit, next_cursor=next_cursor, unseen=head.unseen, unread=head.unread),
    )
    return FeedAnswer(feed=feed, etag=etag)


def mark_entry(
    store: InboxStore, caller: Caller, person_id: str, message_id: str, mark: InboxMark, now: datetime
) -> InboxEntryOut:
    """Mark an entry (a mark already made stays as it was: marking twice is the same as once)."""
    _reach(caller, person_id, Scope.IN_APP_WRITE)
    for _ in range(MARK_ATTEMPTS):
        current = store.entry(caller.company_id, person_id, message_id)
        if current is None:
            raise NotFound("No inbox entry with this id")
        marked = current.marked(mark, now)
        if store.save_marks(caller.company_id, current, marked):
            return InboxEntryOut.of(marked)
    raise Conflict("The entry kept changing while it was marked; send the request again")


def mark_all_read(store: InboxStore, caller: Caller, person_id: str, now: datetime) -> MarkAllReadResult:
    """Mark every unread entry read (up to ``MARK_ALL_LIMIT`` a call), newest first."""
    _reach(caller, person_id, Scope.IN_APP_WRITE)
    marked = 0
    after: str | None = None
    while marked < MARK_ALL_LIMIT:
        page = store.page(caller.company_id, person_id, InboxStatus.UNREAD, min(100, MARK_ALL_LIMIT - marked), after)
        for entry in page.entries:
            if store.save_marks(caller.company_id, entry, entry.marked(InboxMark.READ, now)):
                marked += 1
        after = page.next_after
        if after is None:
            break
    head = store.head(caller.company_id, person_id)
    return MarkAllReadResult(marked=marked, meta=InboxCounts(unseen=head.unseen, unread=head.unread))


def issue_person_token(caller: Caller, person_id: str, inbox_secret: bytes) -> PersonTokenOut:
    """A token that reads and marks this person's inbox only; a person's own token cannot issue one."""
    if caller.person_id is not None:
        raise Forbidden("A person's token cannot issue tokens")
    require_scopes(caller, Scope.IN_APP_READ)
    return PersonTokenOut(person_id=person_id, token=person_token(inbox_secret, caller.company_id, person_id))
