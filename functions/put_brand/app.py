"""PUT /v1/brands/{brand_id}: set a brand's name, senders and template variables."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import put_brand
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.messages import Brand, BrandId, BrandPut
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

router = Router()


@router.put(
    "/v1/brands/<brand_id>",
    operation_id="putBrand",
    summary="Set a brand",
    tags=["messages"],
    security=requires("messages:write"),
)
def put_route(brand_id: Annotated[BrandId, Path()], request: Annotated[BrandPut, Body()]) -> Brand:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, brand_id=brand_id)
    brand = put_brand(directory(), caller, brand_id, request, now_utc(), get_settings().push_app_prefix)
    metrics.add_metric(name="BrandsPut", unit="Count", value=1)
    return brand


app = ServiceResolver(router)
lambda_handler = api_handler(app)
