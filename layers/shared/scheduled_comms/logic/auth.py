"""API keys: issuing, authenticating and scope checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime

from scheduled_comms.errors import Forbidden, Unauthorized, ValidationFailed
from scheduled_comms.models.domain import ApiKeyRecord, Caller, Scope
from scheduled_comms.models.values import format_instant
from scheduled_comms.ports import ApiKeyStore

KEY_PREFIX = "sck"
_KEY_SHAPE = re.compile(r"^sck_([0-9a-f]{32})_([A-Za-z0-9_\-]{43})$")
ALL_SCOPES = tuple(scope.value for scope in Scope)


def hash_secret(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown or not scopes:
        raise ValidationFailed(f"Scopes must be a comma-separated subset of: {', '.join(ALL_SCOPES)}")
    return scopes


def issue_api_key(
    store: ApiKeyStore, company_id: str, scopes: tuple[str, ...], now: datetime, name: str | None = None
) -> tuple[ApiKeyRecord, str]:
    """Create a key for a company; the plain key is returned once and never stored."""
    key_id = uuid.uuid4().hex
    api_key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKeyRecord(
        key_id=key_id,
        company_id=company_id,
        scopes=scopes,
        secret_sha256=hash_secret(api_key),
        created_at=format_instant(now),
        name=name,
    )
    store.put(record)
    return record, api_key


def key_id_of(api_key: str) -> str | None:
    """The id part of an API key (``sck_<id>_<secret>``), None when the key is not of that shape."""
    match = _KEY_SHAPE.match(api_key)
    return match.group(1) if match else None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(store: ApiKeyStore, authorization: str | None) -> Caller:
    """The caller behind an ``Authorization: Bearer <key>`` header; ``Unauthorized`` otherwise."""
    token = bearer_token(authorization)
    match = _KEY_SHAPE.match(token or "")
    if token is None or match is None:
        raise Unauthorized("Missing or malformed API key")
    record = store.get(match.group(1))
    if record is None or not hmac.compare_digest(record.secret_sha256, hash_secret(token)):
        raise Unauthorized("Unknown API key")
    if record.revoked_at is not None:
        raise Unauthorized("This API key has been revoked")
    return Caller(company_id=record.company_id, scopes=frozenset(record.scopes), key_id=record.key_id)


# A person's inbox token: ``spt_<company>.<person_id, base64url>.<HMAC-SHA256, base64url>``.
PERSON_TOKEN_PREFIX = "spt_"
PERSON_SCOPES = frozenset({Scope.IN_APP_READ.value, Scope.IN_APP_WRITE.value})
PERSON_KEY_ID = "person-token"
_PERSON_TOKEN = re.compile(r"^spt_([0-9a-f-]{36})\.([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def company_inbox_key(inbox_secret: bytes, company_id: str) -> bytes:
    """The company's secret for person tokens, derived from the stack's inbox secret."""
    return hmac.new(inbox_secret, f"inbox-token|{company_id}".encode(), hashlib.sha256).digest()


def person_token(inbox_secret: bytes, company_id: str, person_id: str) -> str:
    """The person's inbox token: their id and its HMAC under the company's secret (as Novu's subscriber hash)."""
    mac = hmac.new(company_inbox_key(inbox_secret, company_id), person_id.encode(), hashlib.sha256).digest()
    return f"{PERSON_TOKEN_PREFIX}{company_id}.{_b64(person_id.encode())}.{_b64(mac)}"


def is_person_token(authorization: str | None) -> bool:
    return (bearer_token(authorization) or "").startswith(PERSON_TOKEN_PREFIX)


def authenticate_person(authorization: str | None, inbox_secret: bytes) -> Caller:
    """The person behind an ``Authorization: Bearer spt_...`` header; ``Unauthorized`` for any token that is
    malformed, altered, or another stack's (one message for all: a refusal tells nothing)."""
    token = bearer_token(authorization) or ""
    match = _PERSON_TOKEN.match(token)
    refused = Unauthorized("Unknown person token")
    if match is None:
        raise refused
    company_id, encoded_person = match.group(1), match.group(2)
    try:
        person_id = base64.urlsafe_b64decode(encoded_person + "=" * (-len(encoded_person) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    if not hmac.compare_digest(token, person_token(inbox_secret, company_id, person_id)):
        raise refused
    return Caller(company_id=company_id, scopes=PERSON_SCOPES, key_id=PERSON_KEY_ID, person_id=person_id)


def require_scopes(caller: Caller, *needed: Scope) -> None:
    missing = caller.missing(*needed)
    if missing:
        raise Forbidden(f"This API key lacks the scope(s): {', '.join(missing)}")
