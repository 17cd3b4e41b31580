"""GET /v1/people/{person_id}/devices: a person's push devices, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.people import device_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, refuse_unknown_query, requires
from scheduled_comms.logic.devices import list_devices
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.models.push import DeviceList
from scheduled_comms.observability import logger, metrics

router = Router()


@router.get(
    "/v1/people/<person_id>/devices",
    operation_id="listDevices",
    summary="List a person's push devices",
    tags=["push"],
    security=requires("devices:read"),
)
def list_route(person_id: Annotated[ClientKey, Path()]) -> DeviceList:
    refuse_unknown_query(router, set())
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id)
    devices = list_devices(device_store(), caller, person_id)
    metrics.add_metric(name="DevicesListed", unit="Count", value=len(devices))
    return DeviceList(data=devices)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
