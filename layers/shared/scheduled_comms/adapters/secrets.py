"""Secrets from AWS Secrets Manager, cached in the process by Powertools' parameters utility."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from scheduled_comms.adapters.aws import client as aws_client


class SecretReader:
    def __init__(self, max_age_seconds: int, client: Any | None = None) -> None:
        self._provider = parameters.SecretsProvider(boto3_client=client or aws_client("secretsmanager"))
        self._max_age = max_age_seconds

    def read_bytes(self, secret_id: str) -> bytes:
        value = self._provider.get(secret_id, max_age=self._max_age)
        return value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
