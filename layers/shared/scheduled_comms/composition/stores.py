"""Rows (as the API and as the engine sees them), credits and API keys in DynamoDB."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.api_keys import DynamoApiKeyStore
from scheduled_comms.adapters.dynamodb.communications import DynamoCommunicationStore
from scheduled_comms.adapters.dynamodb.credits import DynamoCreditLedger
from scheduled_comms.adapters.dynamodb.dispatch import DynamoDispatchStore
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def communication_store() -> DynamoCommunicationStore:
    settings = get_settings()
    return DynamoCommunicationStore(settings.communications_table, settings.due_shard_count)


@component
def credit_ledger() -> DynamoCreditLedger:
    return DynamoCreditLedger(get_settings().communications_table)


@component
def api_key_store() -> DynamoApiKeyStore:
    return DynamoApiKeyStore(get_settings().communications_table)


@component
def dispatch_store() -> DynamoDispatchStore:
    settings = get_settings()
    return DynamoDispatchStore(settings.communications_table, settings.due_shard_count)
