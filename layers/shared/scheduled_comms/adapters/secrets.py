"""Secrets from AWS Secrets Manager, cached in the process for a while."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from scheduled_comms.adapters.aws import client as aws_client


class SecretReader:
    """Reads a secret's value, keeping it ``max_age_seconds`` before reading it again.

    A dozen lines rather than Powertools' parameters utility: that utility imports boto3, which no function
    otherwise needs (a fifth of the cold start of the functions that read a secret).
    """

    def __init__(
        self, max_age_seconds: int, client: Any | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def read_bytes(self, secret_id: str) -> bytes:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(secret_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        response = (self._client or aws_client("secretsmanager")).get_secret_value(SecretId=secret_id)
        text = response.get("SecretString")
        value = text.encode() if text is not None else bytes(response["SecretBinary"])
        with self._lock:
            self._cache[secret_id] = (now + self._max_age, value)
        return value
