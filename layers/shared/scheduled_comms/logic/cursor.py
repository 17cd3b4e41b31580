"""Opaque, signed pagination cursors, valid only for the company and filters that produced them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Protocol

from scheduled_comms.errors import FieldError, InvalidCursor


class CursorScope(Protocol):
    """What a cursor is valid for besides its company: a list's filters (``ListFilters``, say)."""

    def fingerprint(self) -> str: ...


_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scope(company_id: str, filters: CursorScope) -> str:
    return hashlib.sha256(f"{company_id}|{filters.fingerprint()}".encode()).hexdigest()[:24]


def encode_cursor(after_id: str, company_id: str, filters: CursorScope, key: bytes) -> str:
    body = json.dumps({"a": after_id, "s": _scope(company_id, filters)}, separators=(",", ":")).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_b64(body)}.{_b64(mac)}"


def decode_cursor(cursor: str, company_id: str, filters: CursorScope, key: bytes) -> str:
    """The row id a cursor continues after; ``InvalidCursor`` if it was altered or belongs elsewhere."""
    invalid = InvalidCursor(
        "The cursor is not valid for this query; start again without one",
        [FieldError("cursor", "not a cursor this query returned (altered, or other filters)")],
    )
    try:
        body_text, mac_text = cursor.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, binascii.Error):
        raise invalid from None
    expected = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise invalid
    data = json.loads(body)
    if data.get("s") != _scope(company_id, filters) or not isinstance(data.get("a"), str):
        raise invalid
    return str(data["a"])
