"""Reusable value types: UTC instants, IANA zones, E.164 numbers, uuids, email addresses, bounded maps."""

from __future__ import annotations

import decimal
import importlib.resources
import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)


def _parse_iso(value: Any, example: str) -> datetime:
    """An ISO 8601 date-time between 1970 and 9998, aware or naive as written."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        if not 11 <= len(value) <= 40:  # a date alone (10 characters) is not a time
            raise ValueError(f"must be an ISO 8601 date-time, e.g. {example}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be an ISO 8601 date-time, e.g. {example}") from None
    else:
        raise ValueError("must be a string holding an ISO 8601 date-time")
    if not 1970 <= parsed.year <= 9998:
        raise ValueError(f"must be an ISO 8601 date-time, e.g. {example}")
    return parsed


def parse_instant(value: Any) -> datetime:
    """An ISO 8601 string with a UTC offset, as an aware datetime in UTC; naive times are refused."""
    parsed = _parse_iso(value, "2026-05-01T09:00:00Z")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must include a UTC offset (Z or +hh:mm); naive times are ambiguous")
    return parsed.astimezone(UTC)


def parse_client_time(value: Any) -> datetime:
    """A time a client gives, kept to the second: with an offset, that instant (in UTC); without one, a naive
    local time, which the row's zone turns into an instant (``logic.business_hours.local_time_instant``)."""
    parsed = _parse_iso(value, "2026-05-01T09:00:00Z, or 2026-05-01T09:00:00 in the row's timezone").replace(
        microsecond=0
    )
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed


# boto3's DYNAMODB_CONTEXT (boto3.dynamodb.types), spelled out so that the models need no boto3.
DYNAMODB_NUMBERS = decimal.Context(
    Emin=-128,
    Emax=126,
    prec=38,
    traps=[decimal.Clamped, decimal.Overflow, decimal.Inexact, decimal.Rounded, decimal.Underflow],
)


def check_storable_number(value: float) -> float:
    """DynamoDB keeps 38 significant digits between 1E-130 and 1E+125; refuse what it cannot store."""
    try:
        DYNAMODB_NUMBERS.create_decimal(repr(value) if isinstance(value, float) else str(value))
    except (decimal.Inexact, decimal.Rounded, decimal.Overflow, decimal.Underflow, decimal.InvalidOperation):
        raise ValueError("is a number outside what can be stored (38 significant digits, 1E-130 to 1E+125)") from None
    return value


def format_instant(value: datetime) -> str:
    """The canonical text of an instant: ISO 8601 in UTC with a +00:00 offset."""
    return value.astimezone(UTC).isoformat()


UtcInstant = Annotated[
    datetime,
    BeforeValidator(parse_instant),
    PlainSerializer(format_instant, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# A time in a request: with an offset, or a local time in the row's zone. Documented as a plain string:
# JSON Schema's date-time format requires an offset.
ClientTime = Annotated[
    datetime,
    BeforeValidator(parse_client_time),
    WithJsonSchema(
        {
            "type": "string",
            "examples": ["2026-05-01T09:00:00Z", "2026-05-01T19:00:00+10:00", "2026-05-01T19:00:00"],
            "maxLength": 40,
        }
    ),
]


@lru_cache(maxsize=1)
def iana_zone_names() -> frozenset[str]:
    """The IANA database's zone names, as tzdata lists them: not the system's aliases such as ``localtime``."""
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(listed) - {"Factory"}


def check_timezone(value: str) -> str:
    if value not in iana_zone_names():
        raise ValueError("must be an IANA time zone name, e.g. Australia/Sydney")
    return value


IanaTimezone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(check_timezone),
    WithJsonSchema({"type": "string", "examples": ["Australia/Sydney"], "maxLength": 64}),
]


_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_single_line(value: str) -> str:
    """Text bound for a mail header or a display name: no control characters, so no line breaks to inject."""
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


SingleLine = AfterValidator(check_single_line)


def _strict_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def check_e164(value: str) -> str:
    import phonenumbers  # imported on first use: only functions that validate numbers pay for it

    if not value.startswith("+"):
        raise ValueError("must be an E.164 phone number starting with +, e.g. +61412345678")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be an E.164 phone number, e.g. +61412345678") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if formatted != value:
        raise ValueError(f"must be written in E.164 form without spaces or punctuation ({formatted})")
    return value


E164Number = Annotated[
    str,
    BeforeValidator(_strict_str),
    StringConstraints(min_length=3, max_length=16),
    AfterValidator(check_e164),
    WithJsonSchema({"type": "string", "pattern": r"^\+[1-9]\d{1,14}$", "examples": ["+61412345678"]}),
]


def check_uuid(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID, e.g. 60b5889e-c8e1-4273-836e-67a3f0b3231a") from None
    return str(parsed)


Uuid = Annotated[
    str,
    BeforeValidator(_strict_str),
    StringConstraints(min_length=32, max_length=45),
    AfterValidator(check_uuid),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]


def check_email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email  # on first use, like phonenumbers

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None


EmailAddress = Annotated[
    str,
    BeforeValidator(_strict_str),
    StringConstraints(min_length=3, max_length=254),
    AfterValidator(check_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]

VariableName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_VARIABLE_CHARS = 1000


def check_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return check_storable_number(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return check_storable_number(value)
    if isinstance(value, str):
        if len(value) > MAX_VARIABLE_CHARS:
            raise ValueError(f"must be at most {MAX_VARIABLE_CHARS} characters")
        return value
    raise ValueError("must be a string, number, boolean or null")


ScalarValue = Annotated[
    Any,
    AfterValidator(check_scalar),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_VARIABLE_CHARS},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
VariableMap = Annotated[dict[VariableName, ScalarValue], Field(max_length=50)]


def new_id(now: datetime | None = None) -> str:
    """A UUIDv7 (RFC 9562): random, yet ordered by creation time, so ids sort newest-last."""
    moment = now or datetime.now(UTC)
    millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(uuid.uuid4().bytes, "big")
    value = (millis << 80) | (0x7 << 76) | (rand & ((1 << 76) - 1))
    value = (value & ~(0xC << 60)) | (0x8 << 60)  # RFC 4122 variant bits
    return str(uuid.UUID(int=value))
