"""Overlapping ticks and duplicated EventBridge deliveries never hand a row to a sender twice."""

from __future__ import annotations

import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import Status
from scheduled_comms_cli.seeding import seed_due_rows
from scheduled_comms_local.lambda_host import scheduled_event

from tests.integration.conftest import soon
from tests.integration.test_dispatch import register_number

pytestmark = pytest.mark.slow

# Enough rows that eight ticks starting together contend for the same ones (each run shows lost races).
ROWS = int(os.environ.get("TICK_TEST_ROWS", "400"))
TICKS = 8


def test_eight_overlapping_ticks_send_each_row_exactly_once(api, make_company, ticker, isolated_tables, monkeypatch):
    # Each tick hands its shards to several workers (one per 100 rows coming due), all running at once.
    monkeypatch.setenv("DISPATCH_ROWS_PER_WORKER", str(ROWS // 4))
    composition.reset()
    company = make_company()
    number_id = register_number(api, company)
    ids = seed_due_rows(company.id, number_id, ROWS, soon(0))
    senders = composition.senders()
    handed: Counter[str] = Counter()
    lock = threading.Lock()
    real_send = senders.send

    def counting_send(row):
        with lock:
            handed[row.id] += 1
        return real_send(row)

    monkeypatch.setattr(senders, "send", counting_send)
    moment = soon(5)
    events = [scheduled_event(moment, single_pass=True) for _ in range(TICKS // 2)]
    deliveries = [event for event in events for _ in range(2)]  # every event delivered twice

    with ThreadPoolExecutor(max_workers=TICKS) as pool:
        summaries = list(pool.map(lambda event: ticker.run(event).summary(), deliveries))
    # A tick stops claiming when its time runs short; whatever it left is due for the next one.
    while sum(s["claimed"] for s in summaries[-TICKS:]) and len(summaries) < 4 * TICKS:
        summaries.append(ticker.at(moment + timedelta(seconds=len(summaries))))

    assert set(handed) >= set(ids)
    duplicates = {row_id: n for row_id, n in handed.items() if n > 1}
    assert duplicates == {}
    assert sum(s["dispatched"] for s in summaries) >= ROWS
    assert sum(s["lost_races"] for s in summaries) > 0, "the ticks really did overlap"
    assert max(s["workers"] for s in summaries[:TICKS]) == 4, "each tick fanned its shards out to four workers"
    assert sum(s["failed_workers"] for s in summaries) == 0
    store = composition.communication_store()
    statuses = Counter(store.get(company.id, row_id).status for row_id in ids[::20])
    assert statuses == Counter({Status.DISPATCHED: len(ids[::20])})
