"""Sending a rendered push: to each of the person's enabled devices of the message's brand (or to the one
device the message names), through SNS's per-platform message structure, keeping each device's outcome.

A push is sent when at least one device accepted it. A device whose endpoint SNS reports disabled is marked
and skipped from then on. A retry sends only to the devices that have not accepted it yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scheduled_comms.models.domain import Communication, SendResult
from scheduled_comms.models.push import ENDPOINT_DISABLED, DeliveryOutcome, Device, Platform, PushDelivery
from scheduled_comms.ports import DeviceStore, PushEndpoints

# The TTL attribute's platform name (SNS calls FCM ``GCM`` in message structures but ``FCM`` here).
_TTL_PLATFORM = {Platform.APNS: "APNS", Platform.APNS_SANDBOX: "APNS_SANDBOX", Platform.FCM: "FCM"}


def sns_message(push: dict[str, Any]) -> dict[str, str]:
    """SNS's ``MessageStructure=json`` message: a default text and each platform's own payload."""
    aps: dict[str, Any] = {"alert": {"title": push["title"], "body": push["body"]}}
    if push.get("badge") is not None:
        aps["badge"] = push["badge"]
    if push.get("sound"):
        aps["sound"] = push["sound"]
    apns = json.dumps({"aps": aps, **push.get("data", {})})
    notification = {
        "title": push["title"],
        "body": push["body"],
        **({"sound": push["sound"]} if push.get("sound") else {}),
    }
    fcm = json.dumps({"notification": notification, "data": push.get("data", {})})
    return {"default": push["body"], "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}


def _targets(devices: list[Device], brand_id: str, person_id: str, recipient: str) -> list[Device] | str:
    """The devices to push to, or why there are none."""
    if recipient != person_id:
        named = [device for device in devices if device.id == recipient]
        if not named:
            return f"no_devices: device {recipient} is no longer registered for the person"
        if not named[0].enabled:
            return f"no_devices: device {recipient} is disabled (SNS reported its endpoint disabled)"
        return named
    live = [device for device in devices if device.brand_id == brand_id and device.enabled]
    if not live:
        return f"no_devices: the person has no enabled device for brand {brand_id}"
    return sorted(live, key=lambda device: device.id)


class PushSender:
    """The ``Sender`` of push rows, whose payload ``logic.message_sending`` rendered."""

    def __init__(
        self,
        devices: DeviceStore,
        endpoints: PushEndpoints,
        ttl_seconds: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._devices = devices
        self._endpoints = endpoints
        self._ttl = ttl_seconds
        self._clock = clock

    def send(self, row: Communication) -> SendResult:
        payload = row.payload
        person_id = payload["person_id"]
        targets = _targets(
            self._devices.devices(row.company_id, person_id), payload["brand_id"], person_id, payload["recipient"]
        )
        if isinstance(targets, str):
            return SendResult.fail(targets, deliveries=())
        earlier = {
            delivery["device_id"]: delivery
            for delivery in row.deliveries or []
            if delivery.get("outcome") == DeliveryOutcome.SENT
        }
        message = sns_message(payload["push"])
        outcomes: list[PushDelivery] = []
        for device in targets:
            if device.id in earlier:  # accepted by an earlier attempt: never pushed twice
                outcomes.append(PushDelivery.model_validate(earlier[device.id]))
                continue
            outcomes.append(self._push(row.company_id, device, message))
        return _summary(outcomes)

    def _push(self, company_id: str, device: Device, message: dict[str, str]) -> PushDelivery:
        result = self._endpoints.publish(device.endpoint_arn, message, self._ttl, _TTL_PLATFORM[device.platform])
        if result.outcome == "sent":
            outcome, error = DeliveryOutcome.SENT, None
        elif result.error == ENDPOINT_DISABLED:
            self._devices.mark_disabled(company_id, device.person_id, device.id, self._clock())
            outcome, error = DeliveryOutcome.DISABLED, "SNS reported the endpoint disabled"
        elif result.outcome in ("retry", "throttled"):
            outcome, error = DeliveryOutcome.RETRY, result.error
        else:
            outcome, error = DeliveryOutcome.FAILED, result.error
        return PushDelivery(
            device_id=device.id,
            platform=device.platform,
            outcome=outcome,
            provider_message_id=result.external_id,
            error=error,
        )


def _summary(outcomes: list[PushDelivery]) -> SendResult:
    deliveries = tuple(outcome.model_dump(mode="json") for outcome in outcomes)
    sent = [outcome for outcome in outcomes if outcome.outcome is DeliveryOutcome.SENT]
    if sent:
        return SendResult.sent(str(sent[0].provider_message_id), deliveries=deliveries)
    counts = {kind: sum(1 for o in outcomes if o.outcome is kind) for kind in DeliveryOutcome}
    text = ", ".join(f"{count} {kind.value}" for kind, count in counts.items() if count)
    if counts[DeliveryOutcome.RETRY]:
        return SendResult.retry(f"push: no device accepted it yet ({text}); will retry", deliveries=deliveries)
    return SendResult.fail(f"push: no device accepted it ({text})", deliveries=deliveries)
