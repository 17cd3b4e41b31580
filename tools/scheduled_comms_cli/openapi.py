"""The OpenAPI 3.1 document, generated from the route functions' own resolvers and models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from scheduled_comms.models.protection import DoNotContactImport
from scheduled_comms_local.template import PROJECT_ROOT, Stack

# One document: the layer's copy (served by the docs function); openapi.json at the root is a symlink to it.
DOCUMENT_PATHS = (PROJECT_ROOT / "layers/shared/scheduled_comms/http/openapi.json",)
ERRORS = {
    "400": "Invalid cursor, or a body that is not UTF-8",
    "401": "Missing, unknown or revoked API key",
    "402": "No credits left",
    "403": "The key lacks a scope this operation needs",
    "404": "No such resource (or another company's)",
    "409": "A concurrent or repeated request (retry later), or a batch call whose status does not allow it",
    "413": "Request body too large",
    "415": "Body is not JSON (nor CSV, where contacts may be CSV)",
    "422": "Validation failed (each field named), or the row is not pending",
    "429": "Throttled",
    "500": "Server error",
    "503": "A provider the request needs (SNS) did not answer; nothing was stored, try again",
}
# What each operation can answer besides its success: every operation can be throttled (429) or fail
# (500); a keyed one refuses a bad key (401) or scope (403); one that takes a body refuses bad bytes
# (400), a large body (413), another content type (415) and invalid fields (422). The rest by operation.
BODY_ERRORS = ("400", "413", "415", "422")
OPERATION_ERRORS: dict[str, tuple[str, ...]] = {
    "getHealth": (),
    "listScheduledCommunications": ("400", "422"),
    "createScheduledCommunication": (*BODY_ERRORS, "402", "409"),
    "getScheduledCommunication": ("404", "422"),
    "updateScheduledCommunication": (*BODY_ERRORS, "404"),
    "cancelScheduledCommunication": ("404", "422"),
    "dispatchScheduledCommunicationNow": (*BODY_ERRORS, "404"),
    "cancelMatchingCommunications": BODY_ERRORS,
    "getBusinessHours": (),
    "putBusinessHours": BODY_ERRORS,
    "getHolidays": (),
    "putHolidays": BODY_ERRORS,
    "getFrequencyCaps": (),
    "putFrequencyCaps": BODY_ERRORS,
    "listPhoneNumbers": (),
    "registerPhoneNumber": BODY_ERRORS,
    "listVoiceAgentConfigs": (),
    "registerVoiceAgentConfig": BODY_ERRORS,
    "listUserSenders": (),
    "putUserSender": BODY_ERRORS,
    "getUserSender": ("404", "422"),
    "deleteUserSender": ("404", "422"),
    "receiveVoiceCallOutcome": (*BODY_ERRORS, "404", "409"),
    "scheduleMessage": (*BODY_ERRORS, "402", "409"),
    "getMessage": ("404", "422"),
    "listMessages": ("400", "422"),
    "cancelMessage": ("404", "422"),
    "putTemplate": (*BODY_ERRORS, "409"),
    "getTemplate": ("404", "422"),
    "listTemplates": (),
    "deleteTemplate": ("404", "422"),
    "putBrand": BODY_ERRORS,
    "getBrand": ("404", "422"),
    "listBrands": (),
    "createBatchCall": (*BODY_ERRORS, "409"),
    "listBatchCalls": ("400", "422"),
    "getBatchCall": ("404", "422"),
    "getBatchCallAnalytics": ("404", "422"),
    "updateBatchCall": (*BODY_ERRORS, "404", "409"),
    "addBatchCallContacts": (*BODY_ERRORS, "404", "409"),
    "listBatchCallContacts": ("400", "404", "422"),
    "scheduleBatchCall": ("404", "409", "422"),
    "pauseBatchCall": ("404", "409", "422"),
    "resumeBatchCall": ("404", "409", "422"),
    "cancelBatchCall": ("404", "409", "422"),
    "createContactFolder": (*BODY_ERRORS, "409"),
    "listContactFolders": ("400", "422"),
    "addContactFolderContacts": (*BODY_ERRORS, "404", "409"),
    "listContactFolderContacts": ("400", "404", "422"),
    "putDoNotContact": BODY_ERRORS,
    "deleteDoNotContact": ("404", "422"),
    "listDoNotContact": ("400", "422"),
    "importDoNotContact": BODY_ERRORS,
    "registerDevice": (*BODY_ERRORS, "409", "503"),
    "listDevices": ("422",),
    "deleteDevice": ("404", "422", "503"),
    "getInbox": ("400", "404", "422"),
    "markInboxEntrySeen": ("404", "409", "422"),
    "markInboxEntryRead": ("404", "409", "422"),
    "archiveInboxEntry": ("404", "409", "422"),
    "markInboxAllRead": ("404", "422"),
    "issueInboxToken": ("422",),
}
# Operations that read their body themselves (JSON, or the same as CSV): the JSON form is documented here.
READ_BODIES: dict[str, type[BaseModel]] = {"importDoNotContact": DoNotContactImport}
# Spec 002's routes answer errors in its flat shape (but a key the gateway's authorizer refuses, 401, is
# answered by the gateway, in the service's shape).
FLAT_ERROR_TAGS = {"messages", "push", "inbox"}


def build_document(stack: Stack | None = None) -> dict[str, Any]:
    """Include every API function's router in one resolver and let Powertools describe it."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, Server
    from scheduled_comms.http.resolver import ServiceResolver
    from scheduled_comms.models.api import ErrorResponse, FlatErrorResponse
    from scheduled_comms.settings import get_settings
    from scheduled_comms_local.lambda_host import FunctionHost

    stack = stack or Stack("openapi")
    host = FunctionHost(stack)
    combined = ServiceResolver()
    functions = sorted({route.function for route in stack.routes() if route.method != "ANY"})
    for logical_id in functions:
        module = host.module(logical_id)
        if hasattr(module, "router"):
            combined.include_router(module.router)
        elif hasattr(module, "describe"):  # a plain handler (no resolver, a faster cold start) describes its route
            combined.include_router(module.describe())
    document = json.loads(
        combined.get_openapi_json_schema(
            title="Scheduled communications API",
            version=get_settings().service_version,
            openapi_version="3.1.0",
            description=(
                "Queue emails, SMS and AI voice calls for later dispatch. Every operation except health, "
                "the documentation and the provider webhook takes `Authorization: Bearer <API key>`; the "
                "scopes each needs are listed in its security requirements."
            ),
            servers=[Server(url="/")],
            security_schemes={
                "bearerAuth": HTTPBearer(scheme="bearer", description="An API key: sck_..."),
                "webhookSignature": APIKey(
                    name="X-Signature",
                    **{"in": APIKeyIn.header},
                    description='t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> keyed by the webhook secret',
                ),
            },
        )
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["FlatErrorResponse"] = FlatErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    flat = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/FlatErrorResponse"}}}}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if operation["operationId"] in READ_BODIES:
                model = READ_BODIES[operation["operationId"]]
                schemas.update(model.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
                schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
                body_schema = {"$ref": f"#/components/schemas/{model.__name__}"}
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
            error = flat if FLAT_ERROR_TAGS & set(operation.get("tags", ())) else nested
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # Powertools' own validation shape; ours is ErrorResponse
            for status, response in responses.items():
                if status == "204":
                    response.pop("content", None)  # no content means no body, not a JSON null
            statuses = {*OPERATION_ERRORS[operation["operationId"]], "429", "500"}
            if operation.get("security") and path != "/v1/webhooks/voice":
                statuses |= {"401", "403"}
            for status in sorted(statuses):
                responses.setdefault(status, {"description": ERRORS[status], **(nested if status == "401" else error)})
            if path == "/v1/webhooks/voice":
                responses["401"] = {"description": "Missing, forged or stale signature", **error}
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write(paths: tuple[Path, ...] = DOCUMENT_PATHS) -> str:
    text = render(build_document())
    for path in paths:
        path.write_text(text)
    return text
