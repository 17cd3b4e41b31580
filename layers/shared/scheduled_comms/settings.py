"""Service settings: the only place that reads the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of every function, read once per process from its environment."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    communications_table: str = Field(default="scheduled-comms-communications", validation_alias="COMMUNICATIONS_TABLE")
    idempotency_table: str = Field(default="scheduled-comms-idempotency", validation_alias="IDEMPOTENCY_TABLE")
    cursor_secret_arn: str = Field(default="scheduled-comms/cursor-signing", validation_alias="CURSOR_SECRET_ARN")
    due_shard_count: int = Field(default=8, ge=1, le=100, validation_alias="DUE_SHARD_COUNT")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, validation_alias="IDEMPOTENCY_TTL_SECONDS")
    secret_cache_seconds: int = Field(default=300, ge=0, validation_alias="SECRET_CACHE_SECONDS")
    service_version: str = Field(default="0.1.0", validation_alias="SERVICE_VERSION")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
