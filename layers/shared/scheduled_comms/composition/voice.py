"""What voice-agent endpoints may be, and the resolver that checks where their hosts lead."""

from __future__ import annotations

from scheduled_comms.adapters.resolver import SystemResolver
from scheduled_comms.composition import component, forget_components
from scheduled_comms.logic.endpoints import EndpointRules
from scheduled_comms.settings import get_settings

# The local stack's allowance (plain HTTP to loopback, for its voice simulator). No setting or environment
# variable sets it: only ``allow_loopback_http_endpoints``, which the local stack and the tests call.
_loopback_http_allowed = False


def allow_loopback_http_endpoints() -> None:
    """Let voice-agent endpoints be plain HTTP on loopback: the local stack (tools/) and tests only.

    Deployed code never calls this, and inside Lambda it has no effect.
    """
    global _loopback_http_allowed
    _loopback_http_allowed = True
    forget_components()  # the rules, and the senders holding them


@component
def endpoint_rules() -> EndpointRules:
    settings = get_settings()
    local = _loopback_http_allowed and settings.lambda_function_name is None
    return EndpointRules(ports=settings.voice_endpoint_ports, loopback_http=local)


@component
def host_resolver() -> SystemResolver:
    return SystemResolver()
