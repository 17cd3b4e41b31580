"""Signed cursors, API key parsing and scope checks, log masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scheduled_comms.errors import Forbidden, InvalidCursor, Unauthorized, ValidationFailed
from scheduled_comms.logic.auth import (
    authenticate,
    bearer_token,
    hash_secret,
    issue_api_key,
    parse_scopes,
    require_scopes,
)
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.models.domain import ApiKeyRecord, Caller, ListFilters, Scope, Status, now_utc
from scheduled_comms.observability import mask_personal_data

KEY = b"k" * 32
ROW = "01a209ba-22c7-7214-ac0f-bf949cf72d96"


def test_cursor_round_trips_for_the_same_company_and_filters():
    filters = ListFilters(status=Status.PENDING)
    cursor = encode_cursor(ROW, "company-a", filters, KEY)
    assert decode_cursor(cursor, "company-a", filters, KEY) == ROW


@pytest.mark.parametrize(
    ("company", "filters", "key"),
    [
        ("company-b", ListFilters(status=Status.PENDING), KEY),
        ("company-a", ListFilters(status=Status.FAILED), KEY),
        ("company-a", ListFilters(), KEY),
        ("company-a", ListFilters(status=Status.PENDING), b"other-key"),
    ],
)
def test_cursor_is_refused_elsewhere(company, filters, key):
    cursor = encode_cursor(ROW, "company-a", ListFilters(status=Status.PENDING), KEY)
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, company, filters, key)


@given(st.integers(min_value=0, max_value=200), st.sampled_from("ABCabc019-_"))
def test_any_altered_character_is_refused(position, replacement):
    cursor = encode_cursor(ROW, "c", ListFilters(), KEY)
    position %= len(cursor)
    altered = cursor[:position] + replacement + cursor[position + 1 :]
    if altered == cursor:
        return
    try:
        decoded = decode_cursor(altered, "c", ListFilters(), KEY)
    except InvalidCursor:
        return
    # base64 padding bits can absorb a change without altering the decoded bytes
    assert decoded == ROW


@given(st.text(max_size=300))
def test_garbage_cursors_are_refused_cleanly(text):
    with pytest.raises(InvalidCursor):
        decode_cursor(text, "c", ListFilters(), KEY)


class MemoryKeys:
    def __init__(self):
        self.records: dict[str, ApiKeyRecord] = {}

    def put(self, record):
        self.records[record.key_id] = record

    def get(self, key_id):
        return self.records.get(key_id)


def test_issued_keys_authenticate_and_only_their_hash_is_stored():
    store = MemoryKeys()
    record, key = issue_api_key(store, "company-a", ("dispatcher:read",), now_utc())

    caller = authenticate(store, f"Bearer {key}")

    assert caller == Caller("company-a", frozenset({"dispatcher:read"}), record.key_id)
    assert key not in repr(store.records)
    assert store.records[record.key_id].secret_sha256 == hash_secret(key)


def test_revoked_forged_and_malformed_keys_are_unauthorized():
    store = MemoryKeys()
    record, key = issue_api_key(store, "company-a", ("dispatcher:read",), now_utc())
    for header in (None, "", "Bearer ", "Token abc", f"Bearer {key[:-1]}x", "Bearer sck_short"):
        with pytest.raises(Unauthorized):
            authenticate(store, header)
    store.put(ApiKeyRecord(**{**record.__dict__, "revoked_at": "2026-01-01T00:00:00+00:00"}))
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(store, f"Bearer {key}")


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("Basic abc") is None


def test_scope_checks_name_what_is_missing():
    caller = Caller("c", frozenset({"dispatcher:write"}), "k")
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    with pytest.raises(Forbidden, match="sms:send"):
        require_scopes(caller, Scope.DISPATCHER_WRITE, Scope.SMS_SEND)


def test_scope_lists_are_validated():
    assert parse_scopes("dispatcher:read, sms:send,sms:send") == ("dispatcher:read", "sms:send")
    for bad in ("", "admin", "dispatcher:read,everything"):
        with pytest.raises(ValidationFailed):
            parse_scopes(bad)


def test_logs_mask_emails_phone_numbers_and_keys():
    text = mask_personal_data(
        "to client@example.com at +61412345678 with Bearer sck_0123456789abcdef0123456789abcdef_secret"
    )
    assert "client@example.com" not in text
    assert "+61412345678" not in text
    assert "secret" not in text


def test_service_logs_are_masked_end_to_end():
    import io
    import json as _json

    from aws_lambda_powertools import Logger
    from scheduled_comms.observability import MaskingFormatter

    stream = io.StringIO()
    log = Logger(service="mask-test", level="INFO", logger_formatter=MaskingFormatter(), stream=stream)

    log.info("sending", extra={"to_email": "client@example.com", "to_number": "+61412345678"})

    record = _json.loads(stream.getvalue())
    assert record["to_email"] == "***@***"
    assert record["to_number"] == "+***"
