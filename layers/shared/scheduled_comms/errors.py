"""Domain errors. The HTTP layer maps each class to a status and an error body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ServiceError(Exception):
    """Base of every expected failure; ``code`` is the stable machine-readable error code."""

    code = "error"

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(ServiceError):
    code = "validation_error"


class InvalidCursor(ServiceError):
    code = "invalid_cursor"


class InvalidEncoding(ServiceError):
    """The body's bytes are not UTF-8."""

    code = "invalid_encoding"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Forbidden(ServiceError):
    code = "insufficient_scope"


class NotFound(ServiceError):
    code = "not_found"


class MethodNotAllowed(ServiceError):
    code = "method_not_allowed"


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"


class NotPending(ServiceError):
    code = "not_pending"


class InsufficientCredits(ServiceError):
    code = "insufficient_credits"


class IdempotencyKeyReused(ServiceError):
    code = "idempotency_key_reused"


class InvalidState(ServiceError):
    """The resource's status does not allow the request (a campaign that cannot be paused now); nothing changed."""

    code = "invalid_state"


class DedupConflict(ServiceError):
    """A message with the same dedup scope exists, scheduled with another body; nothing was written."""

    code = "dedup_conflict"


class Conflict(ServiceError):
    """A concurrent write won; the request changed nothing and may be retried."""

    code = "conflict"


class ProviderUnavailable(ServiceError):
    """A provider the request needs (SNS, for a device's endpoint) did not answer; nothing was stored."""

    code = "provider_unavailable"


def field_errors(errors: list[Any], prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Pydantic errors as field/message pairs, fields written as dotted paths (``payload.cc[1]``)."""
    details = []
    for error in errors:
        path = ""
        for part in (*prefix, *error.get("loc", ())):
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = str(error.get("msg", "is not valid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error.get("type") == "extra_forbidden":
            message = "is not a recognised field here"
        details.append(FieldError(path or "body", message))
    return details


class NumbersTaken(Exception):
    """Numbers a contact list already holds (another upload wrote them meanwhile): the upload wrote nothing."""

    def __init__(self, numbers: set[str]) -> None:
        super().__init__(f"{len(numbers)} numbers are already in the list")
        self.numbers = frozenset(numbers)


class PlanAbandoned(Exception):
    """A campaign's plan stopped being the current one (paused, cancelled or re-planned) while a planner wrote it."""


class SenderRefused(Exception):
    """No sender the company may use is left for an email row; the message says why."""


class SealBroken(Exception):
    """A sealed value could not be opened: KMS refused its data key, or the ciphertext was altered."""


class HostUnresolved(Exception):
    """A host name has no address (now); raised by a ``HostResolver``."""


class EndpointRefused(Exception):
    """The service may not call this provider endpoint; ``message`` says why, for the company."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EndpointUnresolved(EndpointRefused):
    """The endpoint's host does not resolve now: a later attempt may succeed."""

    retryable = True
