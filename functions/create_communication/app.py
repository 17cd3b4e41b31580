"""POST /v1/scheduled-communications: queue an email, SMS or voice call for later."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition import communication_store, idempotency
from scheduled_comms.errors import FieldError, ValidationFailed
from scheduled_comms.http import ServiceResolver, api_handler, current_caller, json_response
from scheduled_comms.logic.communications import create_communication
from scheduled_comms.models.api import CommunicationResponse, CreateCommunicationRequest
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics

app = ServiceResolver()
MAX_IDEMPOTENCY_KEY = 255


@app.post(
    "/v1/scheduled-communications",
    summary="Schedule a communication",
    tags=["scheduled-communications"],
    responses={201: {"description": "Created", "content": {"application/json": {"model": CommunicationResponse}}}},
)
def create_route(request: Annotated[CreateCommunicationRequest, Body()]) -> Any:
    caller = current_caller(app)
    logger.append_keys(company_id=caller.company_id, channel=request.channel)

    def create() -> dict[str, Any]:
        return create_communication(communication_store(), caller, request, now_utc()).model_dump(mode="json")

    key = app.current_event.headers.get("Idempotency-Key")
    if key is None:
        result = create()
    else:
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise ValidationFailed(
                "Invalid Idempotency-Key",
                [FieldError("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")],
            )
        guard = idempotency()
        guard.register_lambda_context(app.lambda_context)
        result = guard.run(caller.company_id, key, app.current_event.json_body, create)
    metrics.add_metric(name="CommunicationsScheduled", unit="Count", value=1)
    return json_response(201, result)


lambda_handler = api_handler(app)
