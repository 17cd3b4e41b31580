"""The AWS clients' connection pools cover the tick's concurrency (botocore keeps only 10 by default)."""

from __future__ import annotations

import pytest
from scheduled_comms.adapters.aws import client, sending_client
from scheduled_comms.settings import get_settings


@pytest.fixture
def sixty_four_in_flight(monkeypatch):
    monkeypatch.setenv("SENDER_CONCURRENCY", "64")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for cached in (get_settings, client, sending_client):
        cached.cache_clear()
    yield get_settings()
    for cached in (get_settings, client, sending_client):
        cached.cache_clear()


@pytest.mark.parametrize("make", [client, sending_client])
def test_every_send_in_flight_and_every_shard_read_has_a_connection(sixty_four_in_flight, make):
    settings = sixty_four_in_flight

    pool = make("dynamodb" if make is client else "ses").meta.config.max_pool_connections

    assert pool >= settings.sender_concurrency + settings.due_shard_count
