"""GET /v1/brands: the company's brands."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from scheduled_comms.composition.company import directory
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.messages import list_brands
from scheduled_comms.models.messages import BrandList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/brands",
    operation_id="listBrands",
    summary="List brands",
    tags=["messages"],
    security=requires("messages:read"),
)
def list_route() -> BrandList:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    brands = list_brands(directory(), caller)
    metrics.add_metric(name="BrandsListed", unit="Count", value=len(brands))
    return BrandList(data=brands)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
