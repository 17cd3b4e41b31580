"""Push on the local stack over real HTTP: a brand with the dev stack's platform applications, devices registered
through the API, a push sent by the tick, and `scheduled-comms outbox` listing it once per device."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e


def test_a_push_reaches_each_registered_device_and_the_outbox_lists_it_per_device(service):
    key, person_id = service.info["api_key"], f"person-{uuid.uuid4().hex[:8]}"
    brand = {"name": "Push Brand", "push_apps": service.info["push_apps"]}
    template = {"parts": {"push": {"title": "{{ brand.name }}", "body": "Ticket {{ n }} is ready"}}}
    assert service.request("PUT", "/v1/brands/push-brand", key, json=brand).status_code == 200
    assert service.request("PUT", "/v1/templates/push-note", key, json=template).status_code == 200
    devices = []
    for platform in ("apns", "fcm"):
        body = {"platform": platform, "token": uuid.uuid4().hex * 2, "brand_id": "push-brand"}
        reply = service.request("POST", f"/v1/people/{person_id}/devices", key, json=body)
        assert reply.status_code == 201, reply.text
        devices.append(reply.json()["id"])
    message = {
        "channel": "push",
        "template_key": "push-note",
        "recipient": person_id,
        "brand_id": "push-brand",
        "person_id": person_id,
        "variables": {"n": 7},
        "dedup_key": uuid.uuid4().hex,
        "scheduled_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    }
    scheduled = service.request("POST", "/v1/messages/schedule", key, json=message).json()

    ticked = service.console_cli("tick", "--json")
    outbox = service.console_cli("outbox", "--json")

    assert ticked.returncode == 0, ticked.stderr
    sent = service.request("GET", f"/v1/messages/{scheduled['id']}", key).json()
    assert sent["status"] == "sent"
    assert sorted(d["device_id"] for d in sent["deliveries"] if d["outcome"] == "sent") == sorted(devices)
    pushes = {entry["recipient"]: entry for entry in json.loads(outbox.stdout) if entry["channel"] == "push"}
    assert {device: pushes[device]["excerpt"] for device in devices} == dict.fromkeys(
        devices, "Push Brand: Ticket 7 is ready"
    )
