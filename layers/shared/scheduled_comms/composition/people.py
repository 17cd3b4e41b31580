"""A person's push devices and their SNS endpoints."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.devices import DynamoDeviceStore
from scheduled_comms.adapters.push import SnsPushEndpoints
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def device_store() -> DynamoDeviceStore:
    return DynamoDeviceStore(get_settings().communications_table)


@component
def push_endpoints() -> SnsPushEndpoints:
    return SnsPushEndpoints()
