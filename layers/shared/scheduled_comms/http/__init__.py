"""HTTP plumbing shared by the route functions: resolver, caller, error mapping."""

from scheduled_comms.http.resolver import (
    ServiceResolver,
    api_handler,
    current_caller,
    error_body,
    json_response,
)

__all__ = ["ServiceResolver", "api_handler", "current_caller", "error_body", "json_response"]
