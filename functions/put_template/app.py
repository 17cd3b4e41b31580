"""PUT /v1/templates/{template_key}: store a new version of a message template."""

from typing import Annotated

import scheduled_comms.logic.templates  # noqa: F401  (every request compiles or renders: Jinja2 at cold start)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import put_template
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.messages import StoredTemplate
from scheduled_comms.models.templates import TemplateDefinition, TemplateKey
from scheduled_comms.observability import logger, metrics

router = Router()


@router.put(
    "/v1/templates/<template_key>",
    operation_id="putTemplate",
    summary="Store a template's next version",
    tags=["messages"],
    security=requires("messages:write"),
)
def put_route(
    template_key: Annotated[TemplateKey, Path()], definition: Annotated[TemplateDefinition, Body()]
) -> StoredTemplate:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, template_key=template_key)
    stored = put_template(directory(), caller, template_key, definition, now_utc())
    metrics.add_metric(name="TemplatesPut", unit="Count", value=1)
    return stored


app = ServiceResolver(router)
lambda_handler = api_handler(app)
