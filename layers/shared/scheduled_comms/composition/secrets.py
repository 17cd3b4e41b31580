"""Secrets Manager, read through a cache: the cursor signing key here, the voice credentials by the vault."""

from __future__ import annotations

from scheduled_comms.adapters.secrets import SecretReader
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def secret_reader() -> SecretReader:
    return SecretReader(get_settings().secret_cache_seconds)


def cursor_key() -> bytes:
    return secret_reader().read_bytes(get_settings().cursor_secret_arn)
