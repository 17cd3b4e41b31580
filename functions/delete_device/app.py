"""DELETE /v1/people/{person_id}/devices/{device_id}: forget a device and delete its SNS endpoint."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from scheduled_comms.composition.people import device_store, push_endpoints
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, requires
from scheduled_comms.logic.devices import delete_device
from scheduled_comms.models.messages import ClientKey
from scheduled_comms.models.push import DeviceId
from scheduled_comms.observability import logger, metrics

router = Router()


@router.delete(
    "/v1/people/<person_id>/devices/<device_id>",
    operation_id="deleteDevice",
    summary="Delete a person's push device",
    tags=["push"],
    security=requires("devices:write"),
    responses={204: {"description": "Deleted"}},
)
def delete_route(person_id: Annotated[ClientKey, Path()], device_id: Annotated[DeviceId, Path()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, device_id=device_id)
    delete_device(device_store(), push_endpoints(), caller, person_id, device_id)
    metrics.add_metric(name="DevicesDeleted", unit="Count", value=1)
    return Response(status_code=204, body=None)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
