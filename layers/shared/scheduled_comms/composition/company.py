"""A company's settings and registrations (business hours, sender, numbers, voice configs and their credentials)."""

from __future__ import annotations

from scheduled_comms.adapters.directory import DynamoDirectory, SecretsVault
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def directory() -> DynamoDirectory:
    settings = get_settings()
    return DynamoDirectory(settings.communications_table, defaults_cache_seconds=settings.defaults_cache_seconds)


@component
def vault() -> SecretsVault:
    # Powertools' parameters utility (a cold-start cost) only for the functions that read voice credentials.
    from scheduled_comms.composition.secrets import secret_reader

    return SecretsVault(get_settings().secret_name_prefix, secret_reader())
