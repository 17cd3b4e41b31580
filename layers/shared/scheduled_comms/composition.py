"""The composition point: builds the real adapters, lazily and once per process."""

from __future__ import annotations

from functools import lru_cache

from scheduled_comms.adapters.dynamodb import DynamoApiKeyStore, DynamoCommunicationStore, DynamoCreditLedger
from scheduled_comms.adapters.idempotency import PowertoolsIdempotency
from scheduled_comms.adapters.secrets import SecretReader
from scheduled_comms.settings import get_settings


@lru_cache(maxsize=1)
def communication_store() -> DynamoCommunicationStore:
    settings = get_settings()
    return DynamoCommunicationStore(settings.communications_table, settings.due_shard_count)


@lru_cache(maxsize=1)
def credit_ledger() -> DynamoCreditLedger:
    return DynamoCreditLedger(get_settings().communications_table)


@lru_cache(maxsize=1)
def api_key_store() -> DynamoApiKeyStore:
    return DynamoApiKeyStore(get_settings().communications_table)


@lru_cache(maxsize=1)
def idempotency() -> PowertoolsIdempotency:
    settings = get_settings()
    return PowertoolsIdempotency(settings.idempotency_table, settings.idempotency_ttl_seconds)


@lru_cache(maxsize=1)
def secret_reader() -> SecretReader:
    return SecretReader(get_settings().secret_cache_seconds)


def cursor_key() -> bytes:
    return secret_reader().read_bytes(get_settings().cursor_secret_arn)


def reset() -> None:
    """Forget every built adapter (tests call this when they swap the AWS backend)."""
    from scheduled_comms.adapters.aws import client

    for factory in (
        communication_store,
        credit_ledger,
        api_key_store,
        idempotency,
        secret_reader,
        client,
        get_settings,
    ):
        factory.cache_clear()
