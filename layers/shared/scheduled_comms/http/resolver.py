"""A Powertools REST resolver with the service's error shape and request pre-checks.

Every 4xx has one body: ``{"error": {"code", "message", "details": [{"field", "message"}]}}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from scheduled_comms import errors
from scheduled_comms.http.errors import ErrorShape, error_shape_for, status_of
from scheduled_comms.models.domain import COMMUNICATION_CHANNELS, Caller
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics

# The request body limit stated in the README, checked before routing.
MAX_BODY_BYTES = 128 * 1024
_CHANNEL_TAGS = {channel.value for channel in COMMUNICATION_CHANNELS}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def json_response(status: int | HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body) if body is not None else None,
        headers=headers,
    )


def request_errors(raw: list[dict[str, Any]]) -> list[errors.FieldError]:
    """Powertools/pydantic request errors as field errors: location prefix and union tags dropped."""
    cleaned = []
    for error in raw:
        loc = list(error.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        if loc and loc[0] in _CHANNEL_TAGS:
            loc = loc[1:]
        kind = error.get("type")
        if kind == "union_tag_not_found":
            error = {**error, "msg": "Field required"}
            loc = ["channel"]
        elif kind == "union_tag_invalid":
            error = {**error, "msg": f"must be one of: {', '.join(sorted(_CHANNEL_TAGS))}"}
            loc = ["channel"]
        elif kind == "json_invalid":
            error = {**error, "msg": f"is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"}
            loc = []
        cleaned.append({**error, "loc": tuple(part for part in loc if isinstance(part, str | int))})
    return errors.field_errors(cleaned)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    return None


def content_type_of(event: Mapping[str, Any]) -> str:
    """The request's media type, lower case, without parameters."""
    return (_header(event, "content-type") or "").split(";")[0].strip().lower()


def unsupported_media_type() -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(
        "Request bodies must be JSON: send Content-Type: application/json",
        [errors.FieldError("Content-Type", "must be application/json")],
    )


def _body_bytes(event: Mapping[str, Any]) -> bytes | None:
    """The body as the client sent it (API Gateway passes binary media types base64-encoded)."""
    body = event.get("body")
    if not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise errors.InvalidEncoding(
                "The body is not valid base64", [errors.FieldError("body", "is not valid base64")]
            ) from None
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body


@dataclass(frozen=True)
class BodyRules:
    """What bodies a route takes: every body is a JSON object of at most 128 KiB, but contact uploads
    (up to 1,000 contacts) may be larger, a JSON array, or CSV."""

    max_bytes: int = MAX_BODY_BYTES
    json_arrays: bool = False
    csv: bool = False


CONTACT_UPLOADS = BodyRules(max_bytes=1024 * 1024, json_arrays=True, csv=True)


def precheck(event: Mapping[str, Any], rules: BodyRules = BodyRules()) -> errors.ServiceError | None:
    """Checks made before routing: body size, JSON content type, and that the body decodes as JSON Python can hold.

    Every decoding failure is answered here, so none can reach a route as an unexpected error.
    """
    try:
        raw = _body_bytes(event)
    except errors.InvalidEncoding as exc:
        return exc
    if raw is not None and len(raw) > rules.max_bytes:
        return errors.PayloadTooLarge(f"Request bodies are limited to {rules.max_bytes} bytes")
    if not raw or str(event.get("httpMethod", "")).upper() not in _BODY_METHODS:
        return None
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return errors.InvalidEncoding(
            "The body is not valid UTF-8", [errors.FieldError("body", f"is not valid UTF-8 (byte {exc.start})")]
        )
    content_type = content_type_of(event)
    if rules.csv and content_type == "text/csv":
        return None
    if content_type != "application/json" and not content_type.endswith("+json"):
        return unsupported_media_type()
    try:
        parsed = json.loads(body)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        return errors.ValidationFailed(
            "The body is nested too deeply", [errors.FieldError("body", "nested too deeply")]
        )
    except UnicodeEncodeError:
        return errors.ValidationFailed(
            "The body holds text that is not valid Unicode", [errors.FieldError("body", "contains a lone surrogate")]
        )
    except json.JSONDecodeError as exc:
        return errors.ValidationFailed(
            "The body is not valid JSON",
            [errors.FieldError("body", f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")],
        )
    except ValueError:  # an integer past Python's int-string conversion limit (4,300 digits)
        return errors.ValidationFailed(
            "The body holds a number too long to read", [errors.FieldError("body", "holds a number of too many digits")]
        )
    if not isinstance(parsed, dict) and not (rules.json_arrays and isinstance(parsed, list)):
        # Every body of this API is an object. Powertools would validate only the first element of an
        # array against the body's model, so `[{}]` would pass as `{}`.
        return errors.ValidationFailed(
            "The body must be a JSON object", [errors.FieldError("body", "must be a JSON object")]
        )
    return None


class ServiceResolver(APIGatewayRestResolver):
    """REST API resolver with request validation and the service-wide error mapping."""

    def __init__(self, *routers: Router, bodies: BodyRules = BodyRules()) -> None:
        super().__init__(enable_validation=True)
        self._bodies = bodies
        for router in routers:
            self.include_router(router)
        self.exception_handler(errors.ServiceError)(self._service_error)
        self.exception_handler(RequestValidationError)(self._validation_error)
        self.exception_handler(RequestUnsupportedContentType)(self._unsupported_media_type)
        self.exception_handler(NotFoundError)(self._not_found)
        self.not_found(self._not_found)
        self.exception_handler(Exception)(self._unexpected)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        failure = precheck(event, self._bodies)
        if failure is not None:
            shape = error_shape_for(str(event.get("resource", "")))
            return {
                "statusCode": int(status_of(failure)),
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps(shape(failure.code, failure.message, failure.details)),
                "isBase64Encoded": False,
            }
        # Powertools writes the request to BaseRouter's class attributes, which every resolver of the
        # process shares (several module instances of one function share one Powertools). Its routes and
        # middlewares read them through this resolver (a route's router asks its resolver), so the request
        # kept on the instance is the one they see, even while another instance resolves on another
        # thread (the local stack serves requests concurrently, one invocation per instance at a time).
        self.current_event = APIGatewayProxyEvent(dict(event))
        self.lambda_context = context
        return super().resolve(event, context)

    @property
    def error_shape(self) -> ErrorShape:
        """How an error is written in the body: the request's route decides (``error_shape_for``)."""
        return error_shape_for(str(self.current_event.raw_event.get("resource", "")))

    def _service_error(self, exc: errors.ServiceError) -> Response:
        return json_response(status_of(exc), self.error_shape(exc.code, exc.message, exc.details))

    def _validation_error(self, exc: RequestValidationError) -> Response:
        details = request_errors(list(exc.errors()))
        message = "The request is not valid; see details"
        return json_response(HTTPStatus.UNPROCESSABLE_ENTITY, self.error_shape("validation_error", message, details))

    def _unsupported_media_type(self, exc: Exception) -> Response:
        failure = unsupported_media_type()
        return json_response(status_of(failure), self.error_shape(failure.code, failure.message, failure.details))

    def _not_found(self, exc: Exception | None = None) -> Response:
        return json_response(HTTPStatus.NOT_FOUND, self.error_shape("not_found", "No such resource", None))

    def _unexpected(self, exc: Exception) -> Response:
        logger.exception("unexpected error", extra={"error_type": type(exc).__name__})
        return json_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            self.error_shape("internal_error", "Something went wrong on our side", None),
        )


def refuse_unknown_query(app: BaseRouter, known: set[str]) -> None:
    """A 422 naming every query parameter the route does not take (a typo would otherwise filter nothing)."""
    given = cast(APIGatewayProxyEvent, app.current_event).query_string_parameters or {}
    unknown = sorted(set(given) - known)
    if unknown:
        raise errors.ValidationFailed(
            "Unknown query parameters",
            [errors.FieldError(name, "is not a recognised query parameter") for name in unknown],
        )


def current_caller(app: BaseRouter) -> Caller:
    """The caller the authorizer established (company, scopes, key id)."""
    context = cast(APIGatewayProxyEvent, app.current_event).request_context.authorizer
    company_id = context.get("company_id") if context else None
    if not company_id:
        raise errors.Unauthorized("Missing or invalid credentials")
    scopes = frozenset(s for s in str(context.get("scopes", "")).split(",") if s)
    person_id = context.get("person_id") or None
    return Caller(
        company_id=str(company_id),
        scopes=scopes,
        key_id=str(context.get("key_id", "")),
        person_id=str(person_id) if person_id else None,
    )


def api_handler(app: APIGatewayRestResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda entry point of a route function: logging and metrics around ``app.resolve``.

    Not traced by the X-Ray SDK (see ``observability.tracer``): API Gateway's segment and Lambda's own show a
    route's time, which goes to one to three DynamoDB calls, and the SDK's import would lengthen every cold start.
    """

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @discard_unpublished_metrics
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    return lambda_handler


SECURITY_SCHEME = "bearerAuth"


def requires(*scopes: str) -> list[dict[str, list[str]]]:
    """OpenAPI security requirement: a bearer API key carrying all of ``scopes``."""
    return [{SECURITY_SCHEME: list(scopes)}]


def requires_any(*alternatives: tuple[str, ...]) -> list[dict[str, list[str]]]:
    """OpenAPI security requirements: a key carrying all the scopes of any one alternative."""
    return [{SECURITY_SCHEME: list(scopes)} for scopes in alternatives]
