"""The committed OpenAPI document matches the resolvers, covers every route, and is served with Swagger UI."""

from __future__ import annotations

import json
import re

from scheduled_comms_cli.openapi import DOCUMENT_PATHS, build_document, render
from scheduled_comms_local.template import PROJECT_ROOT


def test_the_root_document_is_the_layers_own_copy():
    root = PROJECT_ROOT / "openapi.json"

    assert root.is_symlink() and root.resolve() == DOCUMENT_PATHS[0].resolve(), "one document, so no drift"


def test_committed_document_is_current(stack):
    expected = render(build_document(stack))

    for path in DOCUMENT_PATHS:
        assert path.read_text() == expected, f"{path} is stale: run `scheduled-comms openapi`"


def test_every_route_of_the_template_is_documented_with_its_scopes(stack):
    document = build_document(stack)
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    routes = {(r.path, r.method) for r in stack.routes() if r.method != "ANY" and r.function != "DocsFunction"}

    assert routes == documented
    for route in stack.routes():
        if route.method == "ANY" or route.function == "DocsFunction":
            continue
        operation = document["paths"][route.path][route.method.lower()]
        expected = [] if not route.authorized else operation["security"]
        if route.function == "VoiceWebhookFunction":
            expected = [{"webhookSignature": []}]
        assert operation.get("security", []) == expected, route
        assert (
            all(next(iter(requirement)) == "bearerAuth" for requirement in expected)
            or route.function == "VoiceWebhookFunction"
        )
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse"), status


def test_operations_have_readable_unique_ids_and_only_the_statuses_they_can_answer(stack):
    document = build_document(stack)
    operations = {
        (method, path): operation for path, ops in document["paths"].items() for method, operation in ops.items()
    }
    ids = [operation["operationId"] for operation in operations.values()]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", operation_id) for operation_id in ids), ids
    assert sorted(operations[("get", "/v1/health")]["responses"]) == ["200", "429", "500"]
    cancel = operations[("delete", "/v1/scheduled-communications/{id}")]["responses"]
    assert "content" not in cancel["204"], "a 204 has no body"
    assert "402" not in cancel and "400" not in cancel
    assert "402" in operations[("post", "/v1/scheduled-communications")]["responses"]
    assert all("405" not in operation["responses"] for operation in operations.values())
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_document_and_swagger_ui_are_served_without_a_key(api):
    document = api.request("GET", "/v1/openapi.json")
    ui = api.request("GET", "/v1/docs")

    assert document.status == 200
    assert json.loads(document.text) == json.loads(DOCUMENT_PATHS[0].read_text())
    assert ui.status == 200
    assert ui.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in ui.text and 'url: "openapi.json"' in ui.text


def test_deployed_document_points_at_its_stage(stack):
    from scheduled_comms_local.lambda_host import FunctionHost

    from tests.conftest import load_event

    event = load_event("health.json")
    event.update(path="/v1/openapi.json", resource="/v1/openapi.json")
    event["requestContext"].update(domainName="abc123.execute-api.us-east-1.amazonaws.com", stage="prod")

    result = FunctionHost(stack).invoke("DocsFunction", event)

    assert json.loads(result["body"])["servers"] == [{"url": "https://abc123.execute-api.us-east-1.amazonaws.com/prod"}]
