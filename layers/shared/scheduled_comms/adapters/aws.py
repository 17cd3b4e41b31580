"""boto3 clients, created lazily once per process. AWS_ENDPOINT_URL points them at a local stand-in."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)
# Senders give up quickly and let the row's own backoff retry: a send must fit in the tick's time
# reserve, or the Lambda could time out between a provider accepting a message and the row recording it.
_SEND_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=5)


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def sending_client(service: str) -> Any:
    """A client for SES or SNS sends: at most ~14 s per call, retries and all."""
    return boto3.session.Session().client(service, config=_SEND_CONFIG)  # type: ignore[call-overload]
