"""SES bounces and complaints (the configuration set's SNS destination): their recipients join the sending
company's do-not-contact list for email."""

import json

from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.logic.protection import record_ses_feedback
from scheduled_comms.models.domain import now_utc
from scheduled_comms.observability import discard_unpublished_metrics, logger, metrics


@logger.inject_lambda_context
@discard_unpublished_metrics
@metrics.log_metrics(raise_on_empty_metrics=False)
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> None:
    for record in event.records:
        added = record_ses_feedback(do_not_contact_list(), json.loads(record.sns.message), now_utc())
        metrics.add_metric(name="AddressesSuppressedBySes", unit="Count", value=added)
