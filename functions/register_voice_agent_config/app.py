"""POST /v1/voice-agent-configs: register how to place calls through the voice provider."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory, vault
from scheduled_comms.composition.voice import endpoint_rules, host_resolver
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires
from scheduled_comms.logic.registry import register_voice_agent_config
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import VoiceAgentConfigCreate, VoiceAgentConfigCreatedResponse
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/voice-agent-configs",
    operation_id="registerVoiceAgentConfig",
    summary="Register a voice-agent config",
    tags=["registry"],
    security=requires("dispatcher:write", "calls:initiate"),
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": VoiceAgentConfigCreatedResponse}}}
    },
)
def register_route(request: Annotated[VoiceAgentConfigCreate, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    created = register_voice_agent_config(
        directory(), vault(), caller, request, now_utc(), endpoint_rules(), host_resolver()
    )
    metrics.add_metric(name="VoiceAgentConfigsRegistered", unit="Count", value=1)
    return json_response(201, {"data": created.model_dump(mode="json")})


app = ServiceResolver(router)
lambda_handler = api_handler(app)
