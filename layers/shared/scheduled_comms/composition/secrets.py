"""Secrets: Secrets Manager read through a cache (the cursor signing key here, the voice credentials by the
vault), and the KMS key that seals HIPAA messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduled_comms.adapters.secrets import SecretReader
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings

if TYPE_CHECKING:
    from scheduled_comms.adapters.sealing import KmsSealer


@component
def secret_reader() -> SecretReader:
    return SecretReader(get_settings().secret_cache_seconds)


def cursor_key() -> bytes:
    return secret_reader().read_bytes(get_settings().cursor_secret_arn)


def inbox_secret() -> bytes:
    """The stack's secret people's inbox tokens are derived from."""
    return secret_reader().read_bytes(get_settings().inbox_secret_arn)


@component
def message_sealer() -> KmsSealer:
    """Seals and opens HIPAA messages' variables (imported on first use: most messages are not HIPAA)."""
    from scheduled_comms.adapters.sealing import KmsSealer

    key_id = get_settings().messages_key_id
    if not key_id:
        raise RuntimeError("MESSAGES_KEY_ID is not set: the stack's MessagesKey seals HIPAA messages")
    return KmsSealer(key_id)
