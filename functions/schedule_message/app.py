"""POST /v1/messages/schedule: schedule a message by template, once per dedup key (spec 002)."""

from datetime import timedelta
from typing import Annotated, Any

import scheduled_comms.logic.templates  # noqa: F401  (every request compiles or renders: Jinja2 at cold start)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.company import directory
from scheduled_comms.composition.people import device_store
from scheduled_comms.composition.secrets import message_sealer
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler, current_caller, json_response, requires_any
from scheduled_comms.logic.messages import schedule_message
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.messages import DEDUPLICATED_HEADER, MessageOut, ScheduleMessageRequest
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

router = Router()


@router.post(
    "/v1/messages/schedule",
    operation_id="scheduleMessage",
    summary="Schedule a templated message",
    tags=["messages"],
    security=requires_any(
        ("messages:write", "email:send"),
        ("messages:write", "sms:send"),
        ("messages:write", "push:send"),
        ("messages:write", "in_app:send"),
    ),
    responses={
        201: {
            "description": f"Scheduled; a repeat of an earlier request (same dedup scope and body) answers the "
            f"first message again with `{DEDUPLICATED_HEADER}: true`",
            "content": {"application/json": {"model": MessageOut}},
        }
    },
)
def schedule_route(request: Annotated[ScheduleMessageRequest, Body()]) -> Any:
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, channel=request.channel.value)
    message, repeated = schedule_message(
        communication_store(),
        directory(),
        caller,
        request,
        router.current_event.json_body,
        now_utc(),
        timedelta(days=get_settings().retention_days),
        message_sealer,
        device_store,
    )
    metrics.add_metric(name="MessagesDeduplicated" if repeated else "MessagesScheduled", unit="Count", value=1)
    return json_response(201, message.model_dump(mode="json"), {DEDUPLICATED_HEADER: str(repeated).lower()})


app = ServiceResolver(router)
lambda_handler = api_handler(app)
