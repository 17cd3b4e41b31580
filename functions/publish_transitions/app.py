"""The table's stream consumer: publishes each row's arrival in a terminal status to the event bus, and
purges a HIPAA message's sealed variables once its row is terminal."""

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.adapters.stream_records import InOrderStreamProcessor, campaign_change, row_change
from scheduled_comms.composition.campaigns import campaign_call_store
from scheduled_comms.composition.event_bus import events
from scheduled_comms.composition.stores import communication_store
from scheduled_comms.logic.campaigns.events import publish_campaign_change
from scheduled_comms.logic.campaigns.gate import engine_ended_campaign_call
from scheduled_comms.logic.message_sending import purge_sealed_variables
from scheduled_comms.logic.transitions import publish_change
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics, tracer

processor = InOrderStreamProcessor()


def record_handler(record: DynamoDBRecord) -> None:
    campaign = campaign_change(record.raw_event)
    if campaign is not None:
        if publish_campaign_change(campaign, events()) is not None:
            metrics.add_metric(name="CampaignEventsPublished", unit="Count", value=1)
        return
    change = row_change(record.raw_event)
    if change is None:
        return
    if publish_change(change, events()) is not None:
        metrics.add_metric(name="TransitionsPublished", unit="Count", value=1)
    if purge_sealed_variables(change, communication_store()):
        metrics.add_metric(name="HipaaVariablesPurged", unit="Count", value=1)
    # A campaign's call the engine failed or skipped ends its contact and frees its slot.
    if engine_ended_campaign_call(change, campaign_call_store(), communication_store(), now_utc()):
        metrics.add_metric(name="CampaignCallsEndedByEngine", unit="Count", value=1)


@logger.inject_lambda_context
@tracer().capture_lambda_handler
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
