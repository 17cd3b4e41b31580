"""People's in-app inboxes."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.inbox import DynamoInboxStore
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def inbox_store() -> DynamoInboxStore:
    return DynamoInboxStore(get_settings().communications_table)
