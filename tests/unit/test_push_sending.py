"""Push sending with fakes: the per-platform message, the TTL attribute, retries that never push twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.stub import Stubber
from scheduled_comms.adapters.push import SnsPushEndpoints
from scheduled_comms.logic.push_sending import PushSender, sns_message
from scheduled_comms.models.domain import Channel, Communication, SendResult, Status
from scheduled_comms.models.push import Device, Platform

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PUSH = {"title": "Acme", "body": "See you at 9", "data": {"id": "a1"}, "badge": 2, "sound": "chime"}


def device(device_id: str, platform: Platform = Platform.APNS, enabled: bool = True) -> Device:
    return Device(
        id=device_id,
        person_id="p1",
        platform=platform,
        brand_id="acme",
        token="t" * 64,
        endpoint_arn=f"arn:endpoint/{device_id}",
        enabled=enabled,
        created_at=NOW,
        updated_at=NOW,
    )


class FakeDevices:
    def __init__(self, *devices: Device) -> None:
        self.items = list(devices)
        self.disabled: list[str] = []

    def devices(self, company_id: str, person_id: str) -> list[Device]:
        return self.items

    def mark_disabled(self, company_id: str, person_id: str, device_id: str, now: datetime) -> None:
        self.disabled.append(device_id)


class FakeEndpoints:
    def __init__(self, answers: dict[str, list[SendResult]]) -> None:
        self.answers = answers
        self.published: list[str] = []

    def publish(self, endpoint_arn: str, message: dict[str, str], ttl_seconds: int, platform: str) -> SendResult:
        self.published.append(endpoint_arn)
        return self.answers[endpoint_arn].pop(0)


def row(deliveries: list[dict[str, Any]] | None = None) -> Communication:
    return Communication(
        id="m1",
        company_id="c1",
        channel=Channel.PUSH,
        status=Status.DISPATCHING,
        scheduled_for=NOW,
        payload={"person_id": "p1", "brand_id": "acme", "recipient": "p1", "push": PUSH},
        max_attempts=3,
        created_at=NOW,
        updated_at=NOW,
        deliveries=deliveries,
    )


def test_the_message_has_each_platforms_own_payload():
    message = sns_message(PUSH)

    assert json.loads(message["APNS"]) == {
        "aps": {"alert": {"title": "Acme", "body": "See you at 9"}, "badge": 2, "sound": "chime"},
        "id": "a1",
    }
    assert message["APNS_SANDBOX"] == message["APNS"]
    assert json.loads(message["GCM"]) == {
        "notification": {"title": "Acme", "body": "See you at 9", "sound": "chime"},
        "data": {"id": "a1"},
    }
    assert message["default"] == "See you at 9"


def test_publish_sends_the_json_structure_with_the_platforms_ttl_attribute():
    client = botocore.session.get_session().create_client("sns", region_name="us-east-1")
    message = sns_message(PUSH)
    with Stubber(client) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "mid-1"},
            {
                "TargetArn": "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/1",
                "MessageStructure": "json",
                "Message": json.dumps(message),
                "MessageAttributes": {"AWS.SNS.MOBILE.FCM.TTL": {"DataType": "String", "StringValue": "3600"}},
            },
        )
        result = SnsPushEndpoints(client=client, sending=client).publish(
            "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/1", message, 3600, "FCM"
        )

    assert result == SendResult.sent("mid-1")


def test_a_retry_pushes_only_to_the_devices_that_have_not_accepted_it():
    devices = FakeDevices(device("dv_a"), device("dv_b", Platform.FCM))
    endpoints = FakeEndpoints(
        {
            "arn:endpoint/dv_a": [SendResult.sent("x1")],
            "arn:endpoint/dv_b": [SendResult.retry("503"), SendResult.sent("x2")],
        }
    )
    sender = PushSender(devices, endpoints, 60, lambda: NOW)  # type: ignore[arg-type]

    first = sender.send(row())
    second = sender.send(row(list(first.deliveries or ())))

    assert first.outcome == "sent" and [d["outcome"] for d in first.deliveries or ()] == ["sent", "retry"]
    assert endpoints.published == ["arn:endpoint/dv_a", "arn:endpoint/dv_b", "arn:endpoint/dv_b"]
    assert [d["outcome"] for d in second.deliveries or ()] == ["sent", "sent"]


def test_every_device_unreachable_for_now_is_a_retry_and_every_device_refusing_is_a_failure():
    retry = PushSender(
        FakeDevices(device("dv_a")), FakeEndpoints({"arn:endpoint/dv_a": [SendResult.retry("503")]}), 60, lambda: NOW
    )  # type: ignore[arg-type]
    refused = PushSender(
        FakeDevices(device("dv_a")),  # type: ignore[arg-type]
        FakeEndpoints({"arn:endpoint/dv_a": [SendResult.fail("endpoint_disabled")]}),  # type: ignore[arg-type]
        60,
        lambda: NOW,
    )

    assert retry.send(row()).outcome == "retry"
    failed = refused.send(row())
    assert failed.outcome == "fail" and failed.error == "push: no device accepted it (1 disabled)"
