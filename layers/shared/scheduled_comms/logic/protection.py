"""Recipient protection: the do-not-contact list (kept by the API, by SES feedback and by callees asking on a
call) and the frequency caps, both checked when a row is about to be sent.

Addresses are matched as written once normalised: an email address in lower case (local part too: mail
systems treat case alike in practice, and a suppression must not miss ``Jane@`` for ``jane@``), a phone
number in E.164. An entry for ``all`` stops every channel that reaches its address.

The check happens when a row is about to be sent, not only when it was created, so an address suppressed after
the row was queued is still kept out; a row it stops ends ``skipped`` (``do_not_contact``) with its credit
returned, and nothing reaches a provider.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from scheduled_comms.errors import FieldError, NotFound, ValidationFailed, field_errors
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.logic.dispatch.policy import Decision, Hold, Skip, expiry_of
from scheduled_comms.models.domain import Caller, Communication, Scope, Source
from scheduled_comms.models.protection import (
    DO_NOT_CONTACT,
    ROW_CHANNEL,
    DoNotContactEntry,
    DoNotContactImported,
    DoNotContactImportEntry,
    DoNotContactList,
    DoNotContactPage,
    DoNotContactPut,
    SuppressedChannel,
)
from scheduled_comms.models.values import check_e164, check_email
from scheduled_comms.ports import CapSource, DoNotContactStore, SendCounters

MAX_IMPORT_LINES = 1_000
MAX_LISTED_ERRORS = 100


def normalized_address(channel: SuppressedChannel, address: str, field: str = "address") -> str:
    """``address`` as the list matches it, or a ``ValidationFailed`` naming ``field``."""
    text = address.strip()
    wants_email = channel is SuppressedChannel.EMAIL or (channel is SuppressedChannel.ALL and "@" in text)
    try:
        return check_email(text).lower() if wants_email else check_e164(text)
    except ValueError as exc:
        kind = "an email address" if wants_email else "an E.164 phone number (e.g. +14155550100)"
        raise ValidationFailed(
            f"{field} must be {kind} for channel {channel.value}", [FieldError(field, f"{field} {exc}")]
        ) from None


def put_entry(
    store: DoNotContactStore,
    caller: Caller,
    channel: SuppressedChannel,
    address: str,
    request: DoNotContactPut,
    now: datetime,
) -> DoNotContactEntry:
    require_scopes(caller, Scope.DO_NOT_CONTACT_WRITE)
    if request.expires_at is not None and request.expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", [FieldError("expires_at", "must be in the future")])
    entry = DoNotContactEntry(
        channel=channel,
        address=normalized_address(channel, address),
        reason=request.reason,
        source="api",
        expires_at=request.expires_at,
        created_at=now,
    )
    store.put(caller.company_id, [entry])
    return entry


def remove_entry(store: DoNotContactStore, caller: Caller, channel: SuppressedChannel, address: str) -> None:
    require_scopes(caller, Scope.DO_NOT_CONTACT_WRITE)
    if store.delete(caller.company_id, channel, normalized_address(channel, address)) is None:
        raise NotFound(f"{address} is not on the do-not-contact list for {channel.value}")


@dataclass(frozen=True)
class _ListScope:
    def fingerprint(self) -> str:
        return "do-not-contact"


def list_entries(
    store: DoNotContactStore, caller: Caller, limit: int, cursor: str | None, cursor_key: bytes
) -> DoNotContactList:
    """The company's entries in address order (each address's channels together)."""
    require_scopes(caller, Scope.DO_NOT_CONTACT_READ)
    after = decode_cursor(cursor, caller.company_id, _ListScope(), cursor_key) if cursor else None
    entries, last = store.page(caller.company_id, limit, after)
    next_cursor = encode_cursor(last, caller.company_id, _ListScope(), cursor_key) if last else None
    return DoNotContactList(data=entries, meta=DoNotContactPage(limit=limit, next_cursor=next_cursor))


def import_entries(
    store: DoNotContactStore, caller: Caller, body: str, content_type: str, now: datetime
) -> DoNotContactImported:
    """Entries from a JSON body (``{"entries": [...]}``) or a CSV one (header ``channel,address``, optionally
    ``reason`` and ``expires_at``): every entry is written, or none. A body with any bad entry is refused whole,
    each bad one named (``entries[3].address``, or for CSV ``line 4.address``)."""
    require_scopes(caller, Scope.DO_NOT_CONTACT_WRITE)
    records = _csv_records(body) if content_type == "text/csv" else _json_records(body)
    if not records:
        raise ValidationFailed("Nothing to import", [FieldError("entries", "must hold at least one entry")])
    if len(records) > MAX_IMPORT_LINES:
        raise ValidationFailed(
            f"At most {MAX_IMPORT_LINES} entries per import",
            [FieldError("entries", f"must hold at most {MAX_IMPORT_LINES} entries")],
        )
    entries: list[DoNotContactEntry] = []
    problems: list[FieldError] = []
    for where, record in records:
        try:
            entries.append(_imported(record, now))
        except ValidationFailed as exc:
            problems += [FieldError(f"{where}.{d.field}", f"{where}: {d.message}") for d in exc.details]
    if problems:
        bad = len({problem.field.rsplit(".", 1)[0] for problem in problems})
        raise ValidationFailed(
            f"{bad} of the {len(records)} entries are not valid; nothing was imported", problems[:MAX_LISTED_ERRORS]
        )
    store.put(caller.company_id, entries)
    return DoNotContactImported(imported=len(entries))


def _json_records(body: str) -> list[tuple[str, Any]]:
    import json

    document = json.loads(body) if body.strip() else None  # the resolver has already refused invalid JSON
    if not isinstance(document, dict) or set(document) != {"entries"} or not isinstance(document["entries"], list):
        raise ValidationFailed(
            'The body must be {"entries": [...]}, or a text/csv body',
            [FieldError("entries", "must be a list of entries")],
        )
    return [(f"entries[{index}]", record) for index, record in enumerate(document["entries"])]


def _csv_records(text: str) -> list[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in next(reader, [])]
    allowed = set(DoNotContactImportEntry.model_fields)
    if not {"channel", "address"} <= set(header) or not set(header) <= allowed or len(set(header)) != len(header):
        raise ValidationFailed(
            "The CSV must start with a header row naming channel and address (reason and expires_at optional)",
            [FieldError("body", "header must name channel, address, and optionally reason, expires_at, once each")],
        )
    records: list[tuple[str, Any]] = []
    for cells in reader:
        if any(cell.strip() for cell in cells):
            record = {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}
            records.append((f"line {reader.line_num}", record))
        if len(records) > MAX_IMPORT_LINES:
            break
    return records


def _imported(record: Any, now: datetime) -> DoNotContactEntry:
    try:
        given = DoNotContactImportEntry.model_validate(record)
    except ValidationError as exc:
        raise ValidationFailed("bad entry", field_errors(exc.errors())) from None
    if given.expires_at is not None and given.expires_at <= now:
        raise ValidationFailed("bad entry", [FieldError("expires_at", "must be in the future")])
    return DoNotContactEntry(
        channel=given.channel,
        address=normalized_address(given.channel, given.address),
        reason=given.reason,
        source="import",
        expires_at=given.expires_at,
        created_at=now,
    )


def suppress(
    store: DoNotContactStore,
    company_id: str,
    channel: SuppressedChannel,
    addresses: Iterable[str],
    reason: str,
    source: str,
    now: datetime,
) -> int:
    """Add addresses the service learned of itself (a bounce, a complaint, a callee's request); the count added.
    An address that does not normalise is left out (it could never be sent to anyway)."""
    entries: list[DoNotContactEntry] = []
    for address in addresses:
        try:
            normal = normalized_address(channel, address)
        except ValidationFailed:
            continue
        entries.append(DoNotContactEntry(channel=channel, address=normal, reason=reason, source=source, created_at=now))
    store.put(company_id, entries)
    return len(entries)


def record_ses_feedback(store: DoNotContactStore, notification: dict[str, Any], now: datetime) -> int:
    """An SES event (through the configuration set's SNS destination): a permanent bounce or a complaint puts
    its recipients on the sending company's list for email; the count added.

    The company is the message's ``company_id`` tag (the sender sets it). A transient bounce (a full mailbox,
    a greylisting server) suppresses nothing; an event without the tag (an identity notification) names no
    company and is left alone.
    """
    kind = notification.get("eventType") or notification.get("notificationType")
    tags = (notification.get("mail") or {}).get("tags") or {}
    company = next(iter(tags.get("company_id") or []), None)
    if not isinstance(company, str) or not company:
        return 0
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return 0
        recipients, reason = bounce.get("bouncedRecipients") or [], "bounce"
    elif kind == "Complaint":
        recipients, reason = (notification.get("complaint") or {}).get("complainedRecipients") or [], "complaint"
    else:
        return 0
    addresses = [str(r.get("emailAddress", "")) for r in recipients if isinstance(r, dict)]
    return suppress(store, company, SuppressedChannel.EMAIL, addresses, reason, "ses_feedback", now)


class DoNotContactGate:
    """The dispatch engine's check before a send: one query per row, for the address the row would reach."""

    def __init__(self, store: DoNotContactStore) -> None:
        self._store = store

    def decide(self, row: Communication, now: datetime) -> Decision | None:
        address, channel = row.recipient, ROW_CHANNEL.get(row.channel)
        if address is None or channel is None:
            return None
        wanted = {channel, SuppressedChannel.ALL}
        if any(entry.channel in wanted for entry in self._store.matching(row.company_id, address, now)):
            return Skip(DO_NOT_CONTACT, refund=row.source is not Source.CAMPAIGN)
        return None


class FrequencyCapGate:
    """The dispatch engine's check of the company's frequency caps: a capped row takes a slot of its address's
    rolling window before it is sent, or is held until one frees (skipped if its expiry comes first)."""

    def __init__(self, caps: CapSource, counters: SendCounters) -> None:
        self._caps = caps
        self._counters = counters

    def decide(self, row: Communication, now: datetime) -> Decision | None:
        if row.transactional:
            return None
        cap = self._caps.frequency_caps(row.company_id).for_channel(row.channel)
        address = row.recipient
        if cap is None or address is None:
            return None
        frees = self._counters.take(row.company_id, row.channel.value, address, cap.limit, cap.window_hours * 3600, now)
        if frees is None:
            return None
        until = datetime.fromtimestamp(frees, tz=UTC)
        deadline = expiry_of(row)
        if deadline is not None and until > deadline:
            return Skip(f"frequency_cap: {cap.limit} {row.channel.value} per {cap.window_hours} h reached")
        return Hold(until)
