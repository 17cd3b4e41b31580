"""GET /v1/templates: the company's templates, each at its current version."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import list_templates
from scheduled_comms.models.messages import TemplateList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/templates",
    operation_id="listTemplates",
    summary="List templates",
    tags=["messages"],
    security=requires("messages:read"),
)
def list_route() -> TemplateList:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    templates = list_templates(directory(), caller)
    metrics.add_metric(name="TemplatesListed", unit="Count", value=len(templates))
    return TemplateList(data=templates)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
