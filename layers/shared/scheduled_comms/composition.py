"""The composition point: builds the real adapters, lazily and once per process."""

from __future__ import annotations

from functools import lru_cache

from scheduled_comms.adapters.directory import DynamoDirectory, SecretsVault
from scheduled_comms.adapters.dynamodb.api_keys import DynamoApiKeyStore
from scheduled_comms.adapters.dynamodb.communications import DynamoCommunicationStore
from scheduled_comms.adapters.dynamodb.credits import DynamoCreditLedger
from scheduled_comms.adapters.dynamodb.dispatch import DynamoDispatchStore
from scheduled_comms.adapters.events import EventBridgePublisher
from scheduled_comms.adapters.idempotency import PowertoolsIdempotency
from scheduled_comms.adapters.resolver import SystemResolver
from scheduled_comms.adapters.secrets import SecretReader
from scheduled_comms.adapters.senders import ChannelSenders, HttpVoiceSender, SesEmailSender, SnsSmsSender
from scheduled_comms.logic.dispatch import DispatchConfig, Dispatcher
from scheduled_comms.logic.endpoints import EndpointRules
from scheduled_comms.settings import get_settings

# The local stack's allowance (plain HTTP to loopback, for its voice simulator). No setting or environment
# variable sets it: only ``allow_loopback_http_endpoints``, which the local stack and the tests call.
_loopback_http_allowed = False


def allow_loopback_http_endpoints() -> None:
    """Let voice-agent endpoints be plain HTTP on loopback: the local stack (tools/) and tests only.

    Deployed code never calls this, and inside Lambda it has no effect.
    """
    global _loopback_http_allowed
    _loopback_http_allowed = True
    endpoint_rules.cache_clear()
    senders.cache_clear()


@lru_cache(maxsize=1)
def endpoint_rules() -> EndpointRules:
    settings = get_settings()
    local = _loopback_http_allowed and settings.lambda_function_name is None
    return EndpointRules(ports=settings.voice_endpoint_ports, loopback_http=local)


@lru_cache(maxsize=1)
def host_resolver() -> SystemResolver:
    return SystemResolver()


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


@lru_cache(maxsize=1)
def directory() -> DynamoDirectory:
    return DynamoDirectory(get_settings().communications_table)


@lru_cache(maxsize=1)
def dispatch_directory() -> DynamoDirectory:
    """The tick's directory: it reads the same few items for many rows, so it keeps them a while."""
    settings = get_settings()
    return DynamoDirectory(settings.communications_table, cache_seconds=settings.directory_cache_seconds)


@lru_cache(maxsize=1)
def vault() -> SecretsVault:
    return SecretsVault(get_settings().secret_name_prefix, secret_reader())


@lru_cache(maxsize=1)
def events() -> EventBridgePublisher:
    """The stream consumer's publisher: only it puts events on the bus."""
    return EventBridgePublisher(get_settings().event_bus_name)


@lru_cache(maxsize=1)
def dispatch_store() -> DynamoDispatchStore:
    settings = get_settings()
    return DynamoDispatchStore(settings.communications_table, settings.due_shard_count)


@lru_cache(maxsize=1)
def senders() -> ChannelSenders:
    settings = get_settings()
    return ChannelSenders(
        email=SesEmailSender(dispatch_directory(), settings.default_from_email),
        sms=SnsSmsSender(dispatch_directory()),
        voice=HttpVoiceSender(
            dispatch_directory(),
            vault(),
            settings.voice_webhook_url,
            settings.voice_timeout_seconds,
            endpoint_rules(),
            host_resolver(),
        ),
    )


def dispatch_config() -> DispatchConfig:
    settings = get_settings()
    return DispatchConfig(
        lease_seconds=settings.lease_seconds,
        poll_step_seconds=settings.poll_step_seconds,
        read_ahead_seconds=settings.poll_step_seconds,
        tick_interval_seconds=settings.tick_interval_seconds,
        reserve_seconds=settings.tick_reserve_seconds,
        page_size=settings.claim_page_size,
        concurrency=settings.sender_concurrency,
        backoff_base_seconds=settings.backoff_base_seconds,
        backoff_cap_seconds=settings.backoff_cap_seconds,
    )


def dispatcher() -> Dispatcher:
    """One tick's dispatcher; the tick reads companies' settings afresh, then keeps them a while."""
    dispatch_directory().forget()
    return Dispatcher(dispatch_store(), senders(), dispatch_directory(), dispatch_config())


def reset() -> None:
    """Forget every built adapter (tests call this when they swap the AWS backend)."""
    from scheduled_comms.adapters.aws import client, sending_client

    for factory in (
        communication_store,
        credit_ledger,
        api_key_store,
        idempotency,
        secret_reader,
        directory,
        dispatch_directory,
        vault,
        events,
        dispatch_store,
        senders,
        endpoint_rules,
        host_resolver,
        client,
        sending_client,
        get_settings,
    ):
        factory.cache_clear()
