"""Service settings: the only place that reads the environment."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

Port = Annotated[int, Field(ge=1, le=65_535)]


class Settings(BaseModel):
    """Configuration of every function, read once per process from its environment.

    A plain pydantic model validated from ``os.environ``, each field's alias naming its variable: what
    pydantic-settings did here, without importing it (it loads every source it ships: CLI, dotenv, cloud
    secret stores), a cost every cold start paid.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    communications_table: str = Field(default="scheduled-comms-communications", validation_alias="COMMUNICATIONS_TABLE")
    cursor_secret_arn: str = Field(default="scheduled-comms/cursor-signing", validation_alias="CURSOR_SECRET_ARN")
    # The stack's secret that people's inbox tokens are derived from (``logic.auth.person_token``).
    inbox_secret_arn: str = Field(default="scheduled-comms/inbox-tokens", validation_alias="INBOX_SECRET_ARN")
    due_shard_count: int = Field(default=8, ge=1, le=100, validation_alias="DUE_SHARD_COUNT")
    retention_days: int = Field(default=90, ge=1, le=3650, validation_alias="RETENTION_DAYS")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, validation_alias="IDEMPOTENCY_TTL_SECONDS")
    secret_cache_seconds: int = Field(default=300, ge=0, validation_alias="SECRET_CACHE_SECONDS")
    # How long the tick keeps a company's settings, numbers and voice configs before reading them again.
    directory_cache_seconds: float = Field(default=30.0, ge=0, le=300, validation_alias="DIRECTORY_CACHE_SECONDS")
    # How long a function of the API keeps a company's defaults for new rows (its zone and default delivery),
    # so that a create makes one round trip; a change made through this process is seen at once.
    defaults_cache_seconds: float = Field(default=10.0, ge=0, le=300, validation_alias="DEFAULTS_CACHE_SECONDS")
    service_version: str = Field(default="0.1.0", validation_alias="SERVICE_VERSION")

    # The dispatch engine.
    tick_interval_seconds: int = Field(default=60, ge=5, le=900, validation_alias="TICK_INTERVAL_SECONDS")
    poll_step_seconds: float = Field(default=5.0, gt=0, le=60, validation_alias="POLL_STEP_SECONDS")
    lease_seconds: int = Field(default=180, ge=10, validation_alias="LEASE_SECONDS")
    tick_reserve_seconds: float = Field(default=20.0, ge=0, validation_alias="TICK_RESERVE_SECONDS")
    claim_page_size: int = Field(default=100, ge=1, le=1000, validation_alias="CLAIM_PAGE_SIZE")
    sender_concurrency: int = Field(default=16, ge=1, le=256, validation_alias="SENDER_CONCURRENCY")
    # Each provider's send quota (sends a second; 0: not paced). The tick keeps to it instead of being throttled.
    ses_sends_per_second: float = Field(default=14.0, ge=0, validation_alias="SES_SENDS_PER_SECOND")
    sms_sends_per_second: float = Field(default=20.0, ge=0, validation_alias="SMS_SENDS_PER_SECOND")
    voice_calls_per_second: float = Field(default=10.0, ge=0, validation_alias="VOICE_CALLS_PER_SECOND")
    # Each company's sends a second on each channel, shared by every worker (0: no quota of its own).
    company_sends_per_second: float = Field(default=0.0, ge=0, validation_alias="COMPANY_SENDS_PER_SECOND")
    # Fan-out: the tick hands its due shards, in slices, to this many dispatch workers at most, one for
    # every ``dispatch_rows_per_worker`` rows due in the coming interval, through the dispatch queue.
    dispatch_queue_url: str | None = Field(default=None, validation_alias="DISPATCH_QUEUE_URL")
    dispatch_workers: int = Field(default=8, ge=1, le=100, validation_alias="DISPATCH_WORKERS")
    dispatch_rows_per_worker: int = Field(default=500, ge=1, validation_alias="DISPATCH_ROWS_PER_WORKER")
    backoff_base_seconds: float = Field(default=60.0, gt=0, validation_alias="BACKOFF_BASE_SECONDS")
    backoff_cap_seconds: float = Field(default=3600.0, gt=0, validation_alias="BACKOFF_CAP_SECONDS")
    event_bus_name: str = Field(default="default", validation_alias="EVENT_BUS_NAME")
    default_from_email: str | None = Field(default=None, validation_alias="DEFAULT_FROM_EMAIL")
    # The SES configuration set every email is sent with: its event destination reports bounces and complaints,
    # which put the address on the company's do-not-contact list.
    ses_configuration_set: str | None = Field(default=None, validation_alias="SES_CONFIGURATION_SET")
    voice_webhook_url: str | None = Field(default=None, validation_alias="VOICE_WEBHOOK_URL")
    voice_timeout_seconds: float = Field(default=10.0, gt=0, le=60, validation_alias="VOICE_TIMEOUT_SECONDS")
    # Ports a voice-agent endpoint may name (HTTPS only), comma-separated: "443,8443".
    voice_endpoint_ports: frozenset[Port] = Field(
        default=frozenset({443}), min_length=1, validation_alias="VOICE_ENDPOINT_PORTS"
    )
    # Set by the Lambda runtime: the local stack's loopback allowance never applies inside Lambda.
    lambda_function_name: str | None = Field(default=None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")
    secret_name_prefix: str = Field(default="scheduled-comms", validation_alias="SECRET_NAME_PREFIX")
    # The KMS key that seals HIPAA messages' variables (the stack's MessagesKey).
    messages_key_id: str | None = Field(default=None, validation_alias="MESSAGES_KEY_ID")
    # A campaign call holds one of its campaign's max_concurrent_calls slots until its outcome webhook, or this
    # long after it was placed (a lost webhook must not keep the slot).
    campaign_max_call_seconds: int = Field(default=1800, ge=60, le=86_400, validation_alias="CAMPAIGN_MAX_CALL_SECONDS")
    # Brands may name SNS platform applications of this stack only: their names start with this.
    push_app_prefix: str = Field(default="scheduled-comms-", validation_alias="PUSH_APP_PREFIX")
    # How long APNs and FCM keep trying to deliver a push to a device that is offline.
    push_ttl_seconds: int = Field(default=86_400, ge=0, le=2_419_200, validation_alias="PUSH_TTL_SECONDS")
    webhook_tolerance_seconds: int = Field(default=300, ge=1, validation_alias="WEBHOOK_TOLERANCE_SECONDS")

    @field_validator("voice_endpoint_ports", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings.model_validate(os.environ)
