"""GET /v1/voice-agent-configs: the company's voice-agent configs (credentials never returned)."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.registry import list_voice_agent_configs
from scheduled_comms.models.registry import VoiceAgentConfigList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/voice-agent-configs",
    operation_id="listVoiceAgentConfigs",
    summary="List voice-agent configs",
    tags=["registry"],
    security=requires("dispatcher:read"),
)
def list_route() -> VoiceAgentConfigList:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    configs = list_voice_agent_configs(directory(), caller)
    metrics.add_metric(name="VoiceAgentConfigsListed", unit="Count", value=1)
    return VoiceAgentConfigList(data=configs)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
