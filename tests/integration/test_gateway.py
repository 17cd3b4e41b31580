"""Authentication, routing errors, health, the authorizer and the sample events."""

from __future__ import annotations

import json

import pytest
from scheduled_comms.composition import api_key_store
from scheduled_comms.models.domain import now_utc
from scheduled_comms_local.lambda_host import FunctionHost

from tests.conftest import Company, load_event
from tests.integration.test_create import COLLECTION, email_body

ROW_PATH = f"{COLLECTION}/01a209ba-22c7-7214-ac0f-bf949cf72d96"


def assert_error_shape(reply, status: int, code: str) -> None:
    assert reply.status == status, reply.text
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    body = reply.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer sck_00000000000000000000000000000000_" + "A" * 43},
        {"Authorization": "Bearer not-a-key"},
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", COLLECTION), ("POST", COLLECTION), ("GET", ROW_PATH)])
def test_missing_or_unknown_key_is_401(api, headers, method, path):
    reply = api.request(method, path, headers=headers)

    assert_error_shape(reply, 401, "unauthorized")


def test_key_with_a_wrong_secret_is_401(api, make_company):
    company = make_company()
    forged = Company(company.id, company.api_key[:-4] + "AAAA", company.key_id)

    assert_error_shape(api.request("GET", COLLECTION, forged), 401, "unauthorized")


def test_revoked_key_is_401(api, make_company):
    company = make_company()
    api_key_store().revoke(company.key_id, now_utc())

    assert_error_shape(api.request("GET", COLLECTION, company), 401, "unauthorized")


def test_health_needs_no_key(api):
    reply = api.request("GET", "/v1/health")

    assert reply.status == 200
    assert reply.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/v1/nothing", "/v2/scheduled-communications", f"{ROW_PATH}/extra", "/"])
def test_unknown_route_is_404(api, make_company, path):
    assert_error_shape(api.request("GET", path, make_company()), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", COLLECTION, "GET, POST"),
        ("DELETE", COLLECTION, "GET, POST"),
        ("PUT", ROW_PATH, "GET, PATCH, DELETE"),
        ("POST", ROW_PATH, "GET, PATCH, DELETE"),
        ("GET", f"{ROW_PATH}/dispatch-now", "POST"),
        ("POST", "/v1/health", "GET"),
    ],
)
def test_unsupported_method_is_405_with_allow(api, make_company, method, path, allowed):
    reply = api.request(method, path, make_company())

    assert_error_shape(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == allowed


def test_authorizer_allows_every_route_with_company_context(stack, make_company):
    company = make_company(scopes=("dispatcher:read", "sms:send"))
    event = load_event("authorizer.json")
    event["headers"]["Authorization"] = f"Bearer {company.api_key}"

    policy = FunctionHost(stack).invoke("AuthorizerFunction", event)

    assert policy["principalId"] == company.key_id
    assert policy["context"] == {
        "company_id": company.id,
        "scopes": "dispatcher:read,sms:send",
        "key_id": company.key_id,
    }
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"]


def test_authorizer_raises_unauthorized_for_the_sample_key(stack):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        FunctionHost(stack).invoke("AuthorizerFunction", load_event("authorizer.json"))


def test_create_sample_event_matches_the_spec_example(stack):
    body = json.loads(load_event("create_communication.json")["body"])

    assert body["channel"] == email_body()["channel"]
    assert set(body) <= set(email_body()) | {"contact_id"}


def test_405_allow_lists_match_the_template(stack):
    allowed = FunctionHost(stack).module("MethodNotAllowedFunction").ALLOWED

    served: dict[str, set[str]] = {}
    for route in stack.routes():
        if route.method != "ANY":
            served.setdefault(route.path, set()).add(route.method)

    assert {path: set(methods.split(", ")) for path, methods in allowed.items()} == served


@pytest.mark.parametrize(
    ("response_type", "status"),
    [("BAD_REQUEST_BODY", 400), ("AUTHORIZER_FAILURE", 500), ("INTEGRATION_FAILURE", 502), ("THROTTLED", 429)],
)
def test_template_gateway_responses_render_as_json_errors(api, response_type, status):
    code, _, body = api.gateway.error(response_type, status)

    assert code == status
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"}
