"""The service's error mapping: each domain error class to a status, and the one error body every 4xx has."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from scheduled_comms import errors

STATUS_OF: dict[type[errors.ServiceError], HTTPStatus] = {
    errors.ValidationFailed: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.NotPending: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.IdempotencyKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.InvalidCursor: HTTPStatus.BAD_REQUEST,
    errors.InvalidEncoding: HTTPStatus.BAD_REQUEST,
    errors.Unauthorized: HTTPStatus.UNAUTHORIZED,
    errors.InsufficientCredits: HTTPStatus.PAYMENT_REQUIRED,
    errors.Forbidden: HTTPStatus.FORBIDDEN,
    errors.NotFound: HTTPStatus.NOT_FOUND,
    errors.MethodNotAllowed: HTTPStatus.METHOD_NOT_ALLOWED,
    errors.Conflict: HTTPStatus.CONFLICT,
    errors.DedupConflict: HTTPStatus.CONFLICT,
    errors.InvalidState: HTTPStatus.CONFLICT,
    errors.PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    errors.UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    errors.ProviderUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def error_body(code: str, message: str, details: list[errors.FieldError] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [{"field": d.field, "message": d.message} for d in details or []],
        }
    }


def flat_error_body(code: str, message: str, details: list[errors.FieldError] | None = None) -> dict[str, Any]:
    """Spec 002's error shape: the code as a string beside a message that names the (first) field at fault,
    the field errors alongside."""
    details = details or []
    if details:
        first = details[0]
        message = f"{first.field} {first.message}" + (
            f" (and {len(details) - 1} more; see details)" if len(details) > 1 else ""
        )
    return {"error": code, "message": message, "details": [{"field": d.field, "message": d.message} for d in details]}


ErrorShape = Callable[[str, str, list[errors.FieldError] | None], dict[str, Any]]
# Spec 002's routes (templated messages, brands, people's devices and inboxes) write errors its flat way.
FLAT_ERROR_PREFIXES = ("/v1/messages", "/v1/templates", "/v1/brands", "/v1/people")


def error_shape_for(resource: str) -> ErrorShape:
    """How an error of the route ``resource`` (API Gateway's resource path) is written in the body."""
    return flat_error_body if resource.startswith(FLAT_ERROR_PREFIXES) else error_body


def status_of(exc: errors.ServiceError) -> HTTPStatus:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return HTTPStatus.BAD_REQUEST
