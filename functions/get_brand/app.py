"""GET /v1/brands/{brand_id}: one brand."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import get_brand
from scheduled_comms.models.messages import Brand, BrandId
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/brands/<brand_id>",
    operation_id="getBrand",
    summary="Get a brand",
    tags=["messages"],
    security=requires("messages:read"),
)
def get_route(brand_id: Annotated[BrandId, Path()]) -> Brand:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, brand_id=brand_id)
    brand = get_brand(directory(), caller, brand_id)
    metrics.add_metric(name="BrandsRead", unit="Count", value=1)
    return brand


app = ServiceResolver(router)
lambda_handler = api_handler(app)
