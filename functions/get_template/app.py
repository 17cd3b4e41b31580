"""GET /v1/templates/{template_key}: a template's current version."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import get_template
from scheduled_comms.models.messages import StoredTemplate
from scheduled_comms.models.templates import TemplateKey
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/templates/<template_key>",
    operation_id="getTemplate",
    summary="Get a template",
    tags=["messages"],
    security=requires("messages:read"),
)
def get_route(template_key: Annotated[TemplateKey, Path()]) -> StoredTemplate:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, template_key=template_key)
    template = get_template(directory(), caller, template_key)
    metrics.add_metric(name="TemplatesRead", unit="Count", value=1)
    return template


app = ServiceResolver(router)
lambda_handler = api_handler(app)
