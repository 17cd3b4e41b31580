"""AWS clients, created lazily once per process. AWS_ENDPOINT_URL points them at a local stand-in.

botocore's, without boto3: the functions use no resource, no transfer manager, nothing boto3 adds over
botocore's clients, and importing boto3 (s3transfer, resources, docs) would be a fifth of a cold start."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import get_session
from scheduled_comms.settings import get_settings


def _pool() -> Config:
    """Connections enough for the tick's concurrency: its sends in flight and its shard reads at once
    (botocore keeps 10 by default; a call beyond the pool opens and drops a connection of its own)."""
    settings = get_settings()
    return Config(max_pool_connections=max(10, settings.sender_concurrency + settings.due_shard_count))


@cache
def client(service: str) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)
    return get_session().create_client(service, config=config.merge(_pool()))


@cache
def sending_client(service: str) -> Any:
    """A client for SES or SNS sends: at most ~14 s per call, retries and all.

    Senders give up quickly and let the row's own backoff retry: a send must fit in the tick's time
    reserve, or the Lambda could time out between a provider accepting a message and the row recording it.
    """
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=5)
    return get_session().create_client(service, config=config.merge(_pool()))
