"""Any method a path does not support: 405 with the methods it does, in the service's error shape."""

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.errors import MethodNotAllowed
from scheduled_comms.http.errors import error_shape_for, status_of
from scheduled_comms.observability import logger

ALLOWED = {
    "/v1/health": "GET",
    "/v1/scheduled-communications": "GET, POST",
    "/v1/scheduled-communications/{id}": "GET, PATCH, DELETE",
    "/v1/scheduled-communications/{id}/dispatch-now": "POST",
    "/v1/scheduled-communications/cancel": "POST",
    "/v1/settings/business-hours": "GET, PUT",
    "/v1/settings/holidays": "GET, PUT",
    "/v1/settings/frequency-caps": "GET, PUT",
    "/v1/phone-numbers": "GET, POST",
    "/v1/voice-agent-configs": "GET, POST",
    "/v1/senders": "GET",
    "/v1/senders/{user_id}": "GET, PUT, DELETE",
    "/v1/webhooks/voice": "POST",
    "/v1/messages": "GET",
    "/v1/messages/schedule": "POST",
    "/v1/messages/{message_id}": "GET, DELETE",
    "/v1/templates": "GET",
    "/v1/templates/{template_key}": "GET, PUT, DELETE",
    "/v1/brands": "GET",
    "/v1/brands/{brand_id}": "GET, PUT",
    "/v1/people/{person_id}/devices": "GET, POST",
    "/v1/people/{person_id}/devices/{device_id}": "DELETE",
    "/v1/people/{person_id}/inbox": "GET",
    "/v1/people/{person_id}/inbox/read-all": "POST",
    "/v1/people/{person_id}/inbox/token": "POST",
    "/v1/people/{person_id}/inbox/{message_id}/seen": "POST",
    "/v1/people/{person_id}/inbox/{message_id}/read": "POST",
    "/v1/people/{person_id}/inbox/{message_id}/archive": "POST",
    "/v1/batch-calls": "GET, POST",
    "/v1/batch-calls/{id}": "GET, PATCH",
    "/v1/batch-calls/{id}/contacts": "GET, POST",
    "/v1/batch-calls/{id}/schedule": "POST",
    "/v1/batch-calls/{id}/pause": "POST",
    "/v1/batch-calls/{id}/resume": "POST",
    "/v1/batch-calls/{id}/cancel": "POST",
    "/v1/batch-calls/{id}/analytics": "GET",
    "/v1/contact-folders": "GET, POST",
    "/v1/contact-folders/{id}/contacts": "GET, POST",
    "/v1/do-not-contact": "GET",
    "/v1/do-not-contact/import": "POST",
    "/v1/do-not-contact/{channel}/{address}": "PUT, DELETE",
    "/v1/openapi.json": "GET",
    "/v1/docs": "GET",
}


# Spec 002's routes answer errors in its flat shape.
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    resource = str(event.get("resource"))
    allowed = ALLOWED.get(resource, "")
    shape = error_shape_for(resource)
    failure = MethodNotAllowed(f"{event.get('httpMethod')} is not supported here; use {allowed}")
    return {
        "statusCode": int(status_of(failure)),
        "headers": {"Content-Type": "application/json", "Allow": allowed},
        "body": json.dumps(shape(failure.code, failure.message, failure.details)),
        "isBase64Encoded": False,
    }
