"""DELETE /v1/templates/{template_key}: retire a template (messages already scheduled still render)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import delete_template
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.templates import TemplateKey
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/templates/<template_key>",
    operation_id="deleteTemplate",
    summary="Delete a template",
    tags=["messages"],
    security=requires("messages:write"),
    responses={204: {"description": "Deleted; messages already scheduled keep their version"}},
)
def delete_route(template_key: Annotated[TemplateKey, Path()]) -> Response[None]:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, template_key=template_key)
    delete_template(directory(), caller, template_key, now_utc())
    metrics.add_metric(name="TemplatesDeleted", unit="Count", value=1)
    return Response(status_code=204, body=None)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
