"""POST /v1/webhooks/voice: the provider reports how a call ended (HMAC-signed, no API key)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from scheduled_comms.composition.campaigns import campaign_call_store
from scheduled_comms.composition.company import directory, vault
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.composition.stores import dispatch_store
from scheduled_comms.http.resolver import ServiceResolver, api_handler
from scheduled_comms.logic.voice_outcomes import SIGNATURE_HEADER, CallOutcome, record_call_outcome
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import logger, metrics
from scheduled_comms.settings import get_settings

router = Router()


@router.post(
    "/v1/webhooks/voice",
    operation_id="receiveVoiceCallOutcome",
    summary="Voice call outcome (signed by the provider)",
    tags=["webhooks"],
    security=[{"webhookSignature": []}],
)
def webhook_route(outcome: Annotated[CallOutcome, Body()]) -> dict[str, Any]:
    logger.append_keys(communication_id=outcome.metadata.communication_id)
    result = record_call_outcome(
        dispatch_store(),
        directory(),
        vault(),
        outcome,
        router.current_event.headers.get(SIGNATURE_HEADER),
        (router.current_event.decoded_body or "").encode(),
        now_utc(),
        get_settings().webhook_tolerance_seconds,
        campaign_call_store(),
        do_not_contact_list(),
    )
    metrics.add_metric(name="CallOutcomesRecorded", unit="Count", value=1)
    return result


app = ServiceResolver(router)
lambda_handler = api_handler(app)
