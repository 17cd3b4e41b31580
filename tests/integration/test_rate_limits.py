"""Send quotas shared by several workers (threads, each with its own limiter and adapter, as separate
Lambda processes would be) hold across all of them, reserved in the table a batch at a time."""

from __future__ import annotations

import threading
import uuid
from itertools import pairwise

import boto3
from scheduled_comms.adapters.dynamodb.items import rate_key
from scheduled_comms.adapters.dynamodb.rate_limits import DynamoRateBuckets
from scheduled_comms.logic.pacing import SharedRateLimiter
from scheduled_comms.models.dispatch import RateScope

WORKERS = 4
SENDS_PER_WORKER = 12
RATE = 40.0


class CountingClient:
    """The real client, with its UpdateItem calls counted (the limiter's writes)."""

    def __init__(self) -> None:
        self._client = boto3.client("dynamodb")
        self.writes = 0
        self._lock = threading.Lock()

    def update_item(self, **request):
        with self._lock:
            self.writes += 1
        return self._client.update_item(**request)


def run_workers(table: str, scope: RateScope, rate: float) -> tuple[list[float], int]:
    """Each worker its own adapter and limiter, its sends in threads of their own; the slots they got."""
    slots: list[float] = []
    lock = threading.Lock()
    clients = [CountingClient() for _ in range(WORKERS)]
    limiters = [SharedRateLimiter(DynamoRateBuckets(table, client), max_batch=4) for client in clients]

    def worker(limiter: SharedRateLimiter) -> None:
        def send() -> None:
            for _ in range(SENDS_PER_WORKER // 3):
                slot = limiter.acquire(scope, rate)
                with lock:
                    slots.append(slot)

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    threads = [threading.Thread(target=worker, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(slots), sum(client.writes for client in clients)


def test_workers_sharing_a_provider_quota_never_share_a_slot_and_keep_to_its_rate(stack):
    table = stack.physical["CommunicationsTable"]
    scope = RateScope(f"ses-{uuid.uuid4().hex}")  # a schedule no other test uses

    slots, writes = run_workers(table, scope, RATE)

    assert len(slots) == WORKERS * SENDS_PER_WORKER
    gaps = [b - a for a, b in pairwise(slots)]
    assert min(gaps) >= 1 / RATE - 1e-5, "two sends in one slot: the quota was exceeded"
    assert writes <= len(slots) / 2, f"{writes} writes for {len(slots)} sends: slots are reserved in batches"


def test_a_company_quota_lives_in_an_item_of_its_own_beside_the_providers(stack):
    table = stack.physical["CommunicationsTable"]
    company = str(uuid.uuid4())
    limiter = SharedRateLimiter(DynamoRateBuckets(table), max_batch=4)

    limiter.acquire(RateScope("sns", company), 5)
    limiter.acquire(RateScope("sns"), 20)

    dynamodb = boto3.client("dynamodb")
    company_item = dynamodb.get_item(TableName=table, Key=rate_key(RateScope("sns", company)))["Item"]
    provider_item = dynamodb.get_item(TableName=table, Key=rate_key(RateScope("sns")))["Item"]
    assert company_item["pk"]["S"] == f"RATE#sns#CO#{company}" and provider_item["pk"]["S"] == "RATE#sns"
    assert "expires_at" in company_item and "expires_at" in provider_item, "a quota's item expires when unused"
