"""HTTP plumbing shared by the route functions: resolver, caller, error mapping."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from scheduled_comms.http.resolver import (
    ServiceResolver,
    api_handler,
    current_caller,
    error_body,
    json_response,
    requires,
    requires_any,
)

__all__ = [
    "Router",
    "ServiceResolver",
    "api_handler",
    "current_caller",
    "error_body",
    "json_response",
    "requires",
    "requires_any",
]
