"""A person's push devices and their SNS endpoints, and their in-app inbox."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.devices import DynamoDeviceStore
from scheduled_comms.adapters.dynamodb.inbox import DynamoInboxStore
from scheduled_comms.adapters.push import SnsPushEndpoints
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def device_store() -> DynamoDeviceStore:
    return DynamoDeviceStore(get_settings().communications_table)


@component
def push_endpoints() -> SnsPushEndpoints:
    return SnsPushEndpoints()


@component
def inbox_store() -> DynamoInboxStore:
    return DynamoInboxStore(get_settings().communications_table)
