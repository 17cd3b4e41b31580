"""POST /v1/people/{person_id}/devices: register a person's push device (the same token again is one device)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.people import device_store, push_endpoints
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires
from scheduled_comms.logic.devices import register_device
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.models.push import DeviceOut, RegisterDeviceRequest
from scheduled_comms.observability import logger, metrics

router = Router()


@router.post(
    "/v1/people/<person_id>/devices",
    operation_id="registerDevice",
    summary="Register a person's push device",
    tags=["push"],
    security=requires("devices:write"),
    responses={
        200: {
            "description": "The token was already this person's device",
            "content": {"application/json": {"model": DeviceOut}},
        },
        201: {"description": "Registered", "content": {"application/json": {"model": DeviceOut}}},
    },
)
def register_route(person_id: Annotated[ClientKey, Path()], request: Annotated[RegisterDeviceRequest, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, platform=request.platform.value)
    device, created = register_device(
        device_store(), directory(), push_endpoints(), caller, person_id, request, now_utc()
    )
    metrics.add_metric(name="DevicesRegistered" if created else "DevicesRefreshed", unit="Count", value=1)
    return json_response(201 if created else 200, device.model_dump(mode="json"))


app = ServiceResolver(router)
lambda_handler = api_handler(app)
