"""Push through SNS mobile push: brands' platform applications, a person's devices, fan-out at send time,
disabled endpoints, a person with no device, and HIPAA's rule for lock screens."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.sns.models import sns_backends
from scheduled_comms_cli.outbox import sent_messages

from tests.integration.conftest import soon

TEMPLATE = {
    "parts": {
        "push": {
            "title": "{{ brand.name }}",
            "body": "See you at {{ time }}",
            "data": {"appointment": "{{ appointment_id }}"},
            "badge": "{{ unread }}",
            "sound": "chime.caf",
        }
    },
    "phi_safe": False,
}


def sns_backend() -> Any:
    return sns_backends["123456789012"]["us-east-1"]


def new_token() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture
def company(api, make_company, stack):
    company = make_company()
    brand = {"name": "Acme Dental", "push_apps": dict(stack.push_apps)}
    assert api.request("PUT", "/v1/brands/acme", company, brand).status == 200
    assert api.request("PUT", "/v1/templates/reminder", company, TEMPLATE).status == 200
    return company


def person() -> str:
    return f"person-{uuid.uuid4().hex[:8]}"


def register(api, company, person_id: str, platform: str = "apns", token: str | None = None, status: int = 201):
    body = {"platform": platform, "token": token or new_token(), "brand_id": "acme"}
    reply = api.request("POST", f"/v1/people/{person_id}/devices", company, body)
    assert reply.status == status, reply.text
    return reply.json()


def endpoint_of(company_id: str, person_id: str, device_id: str) -> Any:
    from scheduled_comms import composition

    device = composition.device_store().device(company_id, person_id, device_id)
    return sns_backend().platform_endpoints[device.endpoint_arn]


def schedule_push(api, company, person_id: str, recipient: str | None = None, status: int = 201, **overrides: Any):
    body = {
        "channel": "push",
        "template_key": "reminder",
        "recipient": recipient or person_id,
        "brand_id": "acme",
        "person_id": person_id,
        "variables": {"time": "9:00", "appointment_id": "ap-1", "unread": 3},
        "dedup_key": uuid.uuid4().hex,
        "scheduled_at": soon(1).isoformat(),
        **overrides,
    }
    reply = api.request("POST", "/v1/messages/schedule", company, body)
    assert reply.status == status, reply.text
    return reply.json()


def message(api, company, message_id: str) -> dict[str, Any]:
    return api.request("GET", f"/v1/messages/{message_id}", company).json()


def test_registering_the_same_token_twice_is_one_device_with_one_endpoint(api, company):
    person_id, token = person(), new_token()

    first = register(api, company, person_id, token=token)
    again = register(api, company, person_id, token=token, status=200)

    assert again["id"] == first["id"] and again["created_at"] == first["created_at"]
    listed = api.request("GET", f"/v1/people/{person_id}/devices", company).json()["data"]
    assert [device["id"] for device in listed] == [first["id"]]
    assert listed[0]["token_hint"] == f"…{token[-6:]}" and token not in json.dumps(listed)
    assert sum(1 for endpoint in sns_backend().platform_endpoints.values() if endpoint.token == token) == 1


def test_a_token_registered_for_another_person_moves_to_them(api, company):
    before, after, token = person(), person(), new_token()
    device = register(api, company, before, token=token)

    moved = register(api, company, after, token=token)

    assert moved["id"] == device["id"] and moved["person_id"] == after
    assert api.request("GET", f"/v1/people/{before}/devices", company).json()["data"] == []


def test_one_token_registered_for_many_people_at_once_has_one_owner(api, company):
    from scheduled_comms import composition

    people, token = [person() for _ in range(8)], new_token()
    body = {"platform": "apns", "token": token, "brand_id": "acme"}

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda p: api.request("POST", f"/v1/people/{p}/devices", company, body), people))

    assert {reply.status for reply in replies} <= {200, 201, 409} and 201 in {r.status for r in replies}
    holders = [p for p in people if api.request("GET", f"/v1/people/{p}/devices", company).json()["data"]]
    device_id = next(reply.json()["id"] for reply in replies if reply.status == 201)
    assert holders == [composition.device_store().owner(company.id, device_id)]


def test_deleting_a_device_removes_it_and_its_endpoint_and_another_companys_is_a_404(api, company, make_company):
    person_id = person()
    device = register(api, company, person_id)
    arn = endpoint_of(company.id, person_id, device["id"]).arn
    other = make_company()

    assert api.request("DELETE", f"/v1/people/{person_id}/devices/{device['id']}", other).status == 404
    assert api.request("GET", f"/v1/people/{person_id}/devices", other).json()["data"] == []
    reply = api.request("DELETE", f"/v1/people/{person_id}/devices/{device['id']}", company)

    assert reply.status == 204 and reply.text == ""
    assert arn not in sns_backend().platform_endpoints
    assert api.request("GET", f"/v1/people/{person_id}/devices", company).json()["data"] == []
    assert api.request("DELETE", f"/v1/people/{person_id}/devices/{device['id']}", company).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "windows", "token": new_token(), "brand_id": "acme"}, "platform"),
        ({"platform": "apns", "token": "short", "brand_id": "acme"}, "token"),
        ({"platform": "apns", "token": new_token(), "brand_id": "nobody"}, "brand_id"),
        ({"platform": "apns", "token": new_token(), "brand_id": "acme", "extra": 1}, "extra"),
    ],
)
def test_a_bad_registration_is_a_422_naming_the_field_and_stores_nothing(api, company, body, field):
    person_id = person()

    reply = api.request("POST", f"/v1/people/{person_id}/devices", company, body)

    assert reply.status == 422 and reply.json()["message"].startswith(field), reply.text
    assert api.request("GET", f"/v1/people/{person_id}/devices", company).json()["data"] == []


def test_a_brand_may_name_only_the_stacks_applications_of_the_right_platform(api, company, stack):
    wrong_platform = {"name": "B", "push_apps": {"apns": stack.push_apps["fcm"]}}
    foreign = {"name": "B", "push_apps": {"fcm": "arn:aws:sns:us-east-1:123456789012:app/GCM/someone-elses"}}

    first = api.request("PUT", "/v1/brands/b", company, wrong_platform)
    second = api.request("PUT", "/v1/brands/b", company, foreign)

    assert first.status == 422 and first.json()["message"].startswith("push_apps.apns must be an APNS application")
    assert second.status == 422 and second.json()["message"].startswith("push_apps.fcm must be one of this stack's")
    assert api.request("GET", "/v1/brands/b", company).status == 404


def test_a_push_fans_out_to_every_device_and_is_sent_when_one_of_them_fails(api, company, ticker):
    person_id = person()
    apns = register(api, company, person_id, "apns")
    fcm = register(api, company, person_id, "fcm")
    broken = register(api, company, person_id, "apns_sandbox")
    sns_backend().platform_endpoints.pop(endpoint_of(company.id, person_id, broken["id"]).arn)  # SNS lost it
    scheduled = schedule_push(api, company, person_id)

    ticker.at(soon(5))

    sent = message(api, company, scheduled["id"])
    assert sent["status"] == "sent"
    outcomes = {delivery["device_id"]: delivery["outcome"] for delivery in sent["deliveries"]}
    assert outcomes == {apns["id"]: "sent", fcm["id"]: "sent", broken["id"]: "failed"}
    apns_message = json.loads(list(endpoint_of(company.id, person_id, apns["id"]).messages.values())[-1])
    assert json.loads(apns_message["APNS"]) == {
        "aps": {"alert": {"title": "Acme Dental", "body": "See you at 9:00"}, "badge": 3, "sound": "chime.caf"},
        "appointment": "ap-1",
    }
    fcm_message = json.loads(list(endpoint_of(company.id, person_id, fcm["id"]).messages.values())[-1])
    assert json.loads(fcm_message["GCM"])["data"] == {"appointment": "ap-1"}
    outbox = {entry["recipient"]: entry for entry in sent_messages() if entry["channel"] == "push"}
    assert outbox[apns["id"]]["excerpt"] == "Acme Dental: See you at 9:00" and outbox[apns["id"]]["platform"] == "APNS"
    assert outbox[fcm["id"]]["platform"] == "GCM" and broken["id"] not in outbox


def test_a_push_to_one_device_reaches_only_that_device(api, company, ticker):
    person_id = person()
    chosen = register(api, company, person_id, "apns")
    other = register(api, company, person_id, "fcm")
    scheduled = schedule_push(api, company, person_id, recipient=chosen["id"])

    ticker.at(soon(5))

    assert [d["device_id"] for d in message(api, company, scheduled["id"])["deliveries"]] == [chosen["id"]]
    assert not endpoint_of(company.id, person_id, other["id"]).messages


def test_a_disabled_endpoint_is_marked_and_skipped_until_registered_again(api, company, ticker):
    person_id = person()
    live = register(api, company, person_id, "apns")
    token = new_token()
    dead = register(api, company, person_id, "fcm", token=token)
    boto3.client("sns").set_endpoint_attributes(
        EndpointArn=endpoint_of(company.id, person_id, dead["id"]).arn, Attributes={"Enabled": "false"}
    )
    first = schedule_push(api, company, person_id)
    ticker.at(soon(5))

    assert {d["device_id"]: d["outcome"] for d in message(api, company, first["id"])["deliveries"]} == {
        live["id"]: "sent",
        dead["id"]: "disabled",
    }
    devices = {d["id"]: d for d in api.request("GET", f"/v1/people/{person_id}/devices", company).json()["data"]}
    assert devices[dead["id"]]["enabled"] is False and devices[dead["id"]]["disabled_at"] is not None

    second = schedule_push(api, company, person_id)
    ticker.at(soon(5))
    assert [d["device_id"] for d in message(api, company, second["id"])["deliveries"]] == [live["id"]]

    again = register(api, company, person_id, "fcm", token=token, status=200)
    assert again["enabled"] is True
    assert endpoint_of(company.id, person_id, dead["id"]).enabled


def test_a_person_with_no_devices_fails_with_a_clear_reason(api, company, ticker):
    person_id = person()
    scheduled = schedule_push(api, company, person_id)

    ticker.at(soon(5))

    failed = message(api, company, scheduled["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "no_devices: the person has no enabled device for brand acme"


def test_a_push_to_a_device_that_is_not_the_persons_is_a_422_naming_recipient(api, company):
    device = register(api, company, person())

    reply = schedule_push(api, company, person(), recipient=device["id"], status=422)

    assert reply["message"] == "recipient is not a device registered for this person"


def test_a_hipaa_push_needs_a_phi_safe_template(api, company, ticker):
    person_id = person()
    register(api, company, person_id)

    refused = schedule_push(api, company, person_id, hipaa=True, status=422)

    assert refused["error"] == "validation_error"
    assert refused["message"].startswith("template_key is not marked phi_safe, which a HIPAA push message needs")
    safe = {**TEMPLATE, "phi_safe": True}
    assert api.request("PUT", "/v1/templates/reminder", company, safe).status == 200
    accepted = schedule_push(api, company, person_id, hipaa=True)
    ticker.at(soon(5))
    sent = message(api, company, accepted["id"])
    assert sent["status"] == "sent" and sent["variables"] is None


def test_devices_need_their_scopes(api, make_company, stack):
    reader = make_company(scopes=("devices:read",))

    reply = api.request("POST", f"/v1/people/{person()}/devices", reader, {"platform": "apns", "token": new_token()})

    assert reply.status == 403 and "devices:write" in reply.json()["message"]
