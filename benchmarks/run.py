"""The benchmark suite: `make bench` writes benchmarks/results.json, report.md, lateness.png and lateness_model.png.

Everything runs on this machine against moto in-process, so every speed figure comes with a floor
measured in the same run on the same backend, and the ratio between them is the figure that matters.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "scheduled-comms",
        "POWERTOOLS_METRICS_NAMESPACE": "ScheduledComms",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "DEFAULT_FROM_EMAIL": "noreply@bench.example.com",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from cost_model import PRICES  # noqa: E402
from moto import mock_aws  # noqa: E402

TICK_ROWS = int(os.environ.get("BENCH_TICK_ROWS", "5000"))
API_REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "300"))
API_ROUND = 20  # creates, then as many bare puts, then as many bare spends, in turn
SIM_ROWS = int(os.environ.get("BENCH_SIM_ROWS", "20000"))
SIM_BURST = int(os.environ.get("BENCH_SIM_BURST", "5000"))
LOCAL_API_REQUESTS_PER_CLIENT = int(os.environ.get("BENCH_LOCAL_API_REQUESTS", "60"))
COLD_IMPORT_SAMPLES = int(os.environ.get("BENCH_COLD_IMPORT_SAMPLES", "5"))
CAMPAIGN_CONTACTS = int(os.environ.get("BENCH_CAMPAIGN_CONTACTS", "100000"))


class RequestCounter:
    """Counts DynamoDB requests by kind through botocore's event hooks."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        condition = params.get("ConditionExpression", "")
        if name == "UpdateItem" and "scheduled_for <= :now" in condition:
            self.counts["claim"] += 1
        elif name in ("UpdateItem", "TransactWriteItems") and ":fence" in json.dumps(params, default=repr):
            self.counts["finalize"] += 1
        elif name == "Query" and params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "").startswith(
            "DNC#"
        ):
            self.counts["do_not_contact"] += 1  # the recipient's entries, read before each send
        elif name == "Query":
            self.counts["query"] += 1
        elif name in ("TransactWriteItems", "PutItem"):
            self.counts["create"] += 1
        else:
            self.counts[f"other:{name}"] += 1


def setup_stack() -> Any:
    from scheduled_comms import composition
    from scheduled_comms_local.moto_patches import prepare_moto_dynamodb
    from scheduled_comms_local.template import Stack, create_resources

    prepare_moto_dynamodb()
    stack = Stack("bench")
    create_resources(
        stack,
        boto3.client("dynamodb"),
        boto3.client("secretsmanager"),
        boto3.client("events"),
        kms=boto3.client("kms"),
    )
    os.environ.update(stack.environment())
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    # moto has no send quota, and the tick's figures measure its own work: no pacing (the lateness model
    # paces at each scenario's quota).
    os.environ.update({"SES_SENDS_PER_SECOND": "0", "SMS_SENDS_PER_SECOND": "0", "VOICE_CALLS_PER_SECOND": "0"})
    boto3.client("sesv2").create_email_identity(EmailIdentity="bench.example.com")
    boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
    composition.reset()
    return stack


def company_with_number() -> tuple[str, str]:
    import uuid

    from scheduled_comms import composition
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.registry import PhoneNumber

    company_id, number_id = str(uuid.uuid4()), str(uuid.uuid4())
    composition.credit_ledger().grant(company_id, 1_000_000, now_utc())
    composition.directory().put_phone_number(
        company_id, PhoneNumber(id=number_id, number="+14155550100", created_at=now_utc())
    )
    return company_id, number_id


def bench_tick(counter: RequestCounter) -> dict[str, Any]:
    """The real tick (Dispatcher) against a bare loop of the minimum calls, on 5,000 due rows each."""
    from scheduled_comms import composition
    from scheduled_comms.logic.dispatch.report import RowOutcome
    from scheduled_comms.models.domain import DueRow, Status
    from scheduled_comms_cli.seeding import seed_due_rows

    now = datetime.now(UTC) + timedelta(seconds=5)
    company_id, number_id = company_with_number()
    seed_due_rows(company_id, number_id, TICK_ROWS, now - timedelta(seconds=5))
    counter.counts.clear()
    started = time.perf_counter()
    report = composition.dispatcher().run(now, remaining_seconds=lambda: 1e9, single_pass=True)
    tick_seconds = time.perf_counter() - started
    tick_counts = dict(counter.counts)
    dispatched = report.counts[RowOutcome.DISPATCHED]

    company_id, number_id = company_with_number()
    seed_due_rows(company_id, number_id, TICK_ROWS, now - timedelta(seconds=5))
    store, senders = composition.dispatch_store(), composition.senders()
    lease = now + timedelta(minutes=3)

    def bare(key: DueRow) -> None:
        row = store.claim(key, now, lease)
        if row is None:
            return
        result = senders.send(row)
        store.transition(
            row,
            row.model_copy(
                update={"status": Status.DISPATCHED, "lease_until": None, "dispatched_external_id": result.external_id}
            ),
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=composition.dispatch_config().concurrency) as pool:
        while True:
            keys = [k for s in range(store.shard_count) for k in store.due(s, now, 1000)]
            if not keys:
                break
            list(pool.map(bare, keys))
    floor_seconds = time.perf_counter() - started
    rows_per_s, floor_per_s = dispatched / tick_seconds, TICK_ROWS / floor_seconds
    return {
        "tick": {
            "rows": dispatched,
            "rows_per_s": round(rows_per_s, 1),
            "floor_rows_per_s": round(floor_per_s, 1),
            "ratio": round(rows_per_s / floor_per_s, 3),
            "seconds": round(tick_seconds, 2),
        },
        "tick_counts": tick_counts,
    }


def bench_api(counter: RequestCounter, stack: Any) -> dict[str, Any]:
    """POSTs through the create handler in-process against a bare put on the same backend."""
    from scheduled_comms import composition
    from scheduled_comms.adapters.dynamodb.items import debit_credit, row_to_item
    from scheduled_comms.logic.auth import ALL_SCOPES
    from scheduled_comms.models.domain import MAX_ATTEMPTS, Channel, Communication, Source, Status
    from scheduled_comms.models.values import new_id
    from scheduled_comms.settings import get_settings
    from scheduled_comms_local.lambda_host import FunctionHost

    company_id, _ = company_with_number()
    event = json.loads((ROOT / "events" / "create_communication.json").read_text())
    event["requestContext"]["authorizer"] = {"company_id": company_id, "scopes": ",".join(ALL_SCOPES), "key_id": "k"}
    body = json.loads(event["body"])
    body["scheduled_for"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    event["body"] = json.dumps(body)
    host = FunctionHost(stack)
    host.invoke("CreateCommunicationFunction", event)  # warm
    client, settings = boto3.client("dynamodb"), get_settings()
    now = datetime.now(UTC)

    def bare_put() -> None:
        row = Communication(
            id=new_id(now),
            company_id=company_id,
            channel=Channel.EMAIL,
            status=Status.PENDING,
            scheduled_for=now + timedelta(days=1),  # not due: the tick bench must see only its own rows
            payload=body["payload"],
            max_attempts=MAX_ATTEMPTS[Channel.EMAIL],
            source=Source.API,
            created_at=now,
            updated_at=now,
        )
        client.put_item(TableName=settings.communications_table, Item=row_to_item(row, settings.due_shard_count))

    def bare_spend() -> None:
        # What the credit's spend alone costs on this backend: the same conditional update a create makes.
        client.update_item(**debit_credit(settings.communications_table, company_id, new_id(now)))

    def timed(work: Any, times: int) -> float:
        started = time.perf_counter()
        for _ in range(times):
            work()
        return time.perf_counter() - started

    counter.counts.clear()
    durations: list[float] = []
    floor = spend = 0.0
    # In rounds, creates then puts then spends, so a change in the machine's load falls on all three alike.
    for _ in range(0, API_REQUESTS, API_ROUND):
        for _ in range(API_ROUND):
            started = time.perf_counter()
            result = host.invoke("CreateCommunicationFunction", event)
            durations.append(time.perf_counter() - started)
            assert result["statusCode"] == 201, result
        floor += timed(bare_put, API_ROUND)
        spend += timed(bare_spend, API_ROUND)
    create_counts = dict(counter.counts)
    composition.reset()
    return {
        "api": {
            "create_per_s": round(len(durations) / sum(durations), 1),
            "floor_per_s": round(len(durations) / floor, 1),
            "create_ratio": round(floor / sum(durations), 3),
            "create_p50_ms": round(statistics.median(durations) * 1000, 2),
            "spend_per_s": round(len(durations) / spend, 1),
            # A put and a spend, back to back: what a create with its credit costs at the least in process.
            "create_ratio_to_put_and_spend": round((floor + spend) / sum(durations), 3),
        },
        "create_counts": create_counts,
        "create_seconds_per_request": sum(durations) / len(durations),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client_session(url: str, key: str, requests_each: int, latencies: list[float]) -> None:
    """One integration-test client: its own connection, alternating a create and a list of its rows."""
    import uuid

    import requests

    contact = str(uuid.uuid4())
    body = {
        "channel": "email",
        "scheduled_for": (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT10:00:00Z"),
        "contact_id": contact,
        "payload": {"to_email": "client@example.com", "subject": "Bench", "html_body": "<p>Hi</p>"},
    }
    headers = {"Authorization": f"Bearer {key}"}
    with requests.Session() as session:
        for index in range(requests_each):
            started = time.perf_counter()
            if index % 2 == 0:
                reply = session.post(f"{url}/v1/scheduled-communications", json=body, headers=headers, timeout=120)
                expected = 201
            else:
                reply = session.get(
                    f"{url}/v1/scheduled-communications",
                    params={"contact_id": contact, "limit": 25},
                    headers=headers,
                    timeout=120,
                )
                expected = 200
            latencies.append(time.perf_counter() - started)
            if reply.status_code != expected:
                raise RuntimeError(f"local API answered {reply.status_code}: {reply.text[:200]}")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_local_api() -> dict[str, Any]:
    """`scheduled-comms dev` in its own process, driven over HTTP by 1 and then 8 concurrent clients.

    Each client keeps one connection and alternates a create (POST, an email row) and a list of its own
    rows (GET filtered by its contact, 25 a page), as a small team's integration tests do. requests/s is
    all clients' requests over the wall time; p99 is over every request's latency; cpu_ms_per_request is
    the stack process's CPU time over the same span per request (its stream poller included), the figure
    that does not depend on what else the machine runs.
    """
    import tempfile

    import requests

    ports = [_free_port() for _ in range(3)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "COMMUNICATIONS_"))}
    command = [str(Path(sys.executable).parent / "scheduled-comms"), "dev", "--tick-interval", "0", "--json"]
    command += ["--api-port", str(ports[0]), "--aws-port", str(ports[1]), "--console-port", str(ports[2])]
    with tempfile.TemporaryDirectory() as data_dir:
        if "--data-dir" in subprocess.run([*command[:2], "--help"], capture_output=True, text=True, env=env).stdout:
            command += ["--data-dir", data_dir]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            assert process.stdout is not None
            info = json.loads(process.stdout.readline())
            requests.get(f"{info['api_url']}/v1/health", timeout=30).raise_for_status()
            figures: dict[str, Any] = {}
            for clients in (1, 8):
                latencies: list[float] = []
                _client_session(info["api_url"], info["api_key"], 4, [])  # warm every handler once
                cpu_began = _cpu_seconds(process.pid)
                began = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    for done in [
                        pool.submit(
                            _client_session, info["api_url"], info["api_key"], LOCAL_API_REQUESTS_PER_CLIENT, latencies
                        )
                        for _ in range(clients)
                    ]:
                        done.result()
                wall = time.perf_counter() - began
                cpu = _cpu_seconds(process.pid) - cpu_began
                ordered = sorted(latencies)
                figures[f"clients_{clients}"] = {
                    "requests": len(latencies),
                    "per_s": round(len(latencies) / wall, 1),
                    "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
                    "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
                    "cpu_ms_per_request": round(cpu * 1000 / len(latencies), 1),
                }
                print(f"  {clients} clients: {figures[f'clients_{clients}']}", flush=True)
            return figures
        finally:
            process.terminate()
            process.wait(timeout=30)


IMPORT_PROBE = """
import sys, time
sys.path[:0] = sys.argv[1:]
started = time.process_time()
import {module}
print((time.process_time() - started) * 1000)
"""


def bench_cold_imports() -> dict[str, Any]:
    """Each handler imported as Lambda imports it at a cold start, against boto3 alone imported the same way.

    From the artifact `sam build` makes (what `sam deploy` uploads) on Lambda's Python (3.12): a fresh
    interpreter per sample (`-I -S`: the function's folder and the layer alone on the path) in the function's
    environment as deployed (the template's variables and the runtime's, so the tracer is on where the
    template leaves it on). The artifact holds no bytecode and Lambda's file system is read-only, so every
    cold start compiles what it imports; `-B` keeps it so here. Samples go round the handlers in turn, so
    a busy moment of the machine spreads over all of them; each figure is the median of the process CPU
    time of the import (its wall time on an idle machine). It leaves out the runtime's own start and the
    handler's first request (building clients, first validations).
    """
    import tempfile

    from scheduled_comms_local.template import Stack

    stack = Stack("bench")
    build_env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYENV_VERSION": os.environ.get("SAM_PYENV", "3.11.7:3.12.1")}
    lambda_python = subprocess.run(
        ["python3.12", "-c", "import sys; print(sys.executable)"],
        env=build_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build"
        subprocess.run(
            [
                str(Path(sys.executable).parent / "sam"),
                "build",
                "--build-dir",
                str(build),
                "--template-file",
                str(ROOT / "template.yaml"),
            ],
            cwd=ROOT,
            env=build_env,
            capture_output=True,
            check=True,
        )
        layer = str(build / "SharedLayer" / "python")
        probes = {"boto3": ("boto3", [layer], {})}
        for logical_id in sorted(stack.resources("AWS::Serverless::Function")):
            probes[logical_id] = ("app", [str(build / logical_id), layer], stack.runtime_environment(logical_id))
        samples: dict[str, list[float]] = {name: [] for name in probes}
        for _ in range(COLD_IMPORT_SAMPLES):
            for name, (module, path, env) in probes.items():
                output = subprocess.run(
                    [lambda_python, "-I", "-S", "-B", "-c", IMPORT_PROBE.format(module=module), *path],
                    env={"PATH": os.environ["PATH"], **env},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                samples[name].append(float(output.stdout))
    ms = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    ratios = {name: round(value / ms["boto3"], 2) for name, value in ms.items() if name != "boto3"}
    return {"ms": ms, "ratio": ratios, "ratio_max": max(ratios.values())}


class SimClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class SimStore:
    """An in-memory table with the Due index as per-shard heaps, as the simulation's backend."""

    shard_count = 8

    def __init__(self, clock: SimClock, seconds_per_row: float) -> None:
        self.rows: dict[str, Any] = {}
        self.heaps: list[list[tuple[datetime, str]]] = [[] for _ in range(self.shard_count)]
        self.clock = clock
        self.cost = seconds_per_row
        self.sent_at: dict[str, float] = {}

    def _shard(self, row_id: str) -> int:
        return zlib.crc32(row_id.encode()) % self.shard_count

    def add(self, row: Any) -> None:
        self.rows[row.id] = row
        heapq.heappush(self.heaps[self._shard(row.id)], (row.scheduled_for, row.id))

    def due(self, shard: int, now: datetime, limit: int, until: datetime | None = None) -> list[Any]:
        """Like the Due index, reading does not consume: entries leave only once their row moves on."""
        from scheduled_comms.models.domain import DueRow

        heap, found = self.heaps[shard], []
        while heap and heap[0][0] <= (until or now) and len(found) < limit:
            when, row_id = heapq.heappop(heap)
            row = self.rows[row_id]
            if row.status.value == "pending" and row.scheduled_for == when:
                found.append((when, row_id))
        for entry in found:
            heapq.heappush(heap, entry)
        return [DueRow(self.rows[r].company_id, r, self.rows[r].channel, when) for when, r in found]

    def claim(self, key: Any, now: datetime, lease_until: datetime) -> Any:
        from scheduled_comms.models.domain import Status

        row = self.rows[key.row_id]
        if row.status is not Status.PENDING or row.scheduled_for > now:
            return None
        claimed = row.model_copy(
            update={"status": Status.DISPATCHING, "attempt_count": row.attempt_count + 1, "lease_until": lease_until}
        )
        self.rows[key.row_id] = claimed
        return claimed

    def take_over(self, key: Any, now: datetime, lease_until: datetime) -> Any:
        return None

    def get(self, company_id: str, row_id: str) -> Any:
        return self.rows.get(row_id)

    def transition(self, current: Any, updated: Any, also_create: Any = None, refund_credit: bool = False) -> bool:
        self.rows[current.id] = updated
        if updated.status.value == "pending":
            heapq.heappush(self.heaps[self._shard(updated.id)], (updated.scheduled_for, updated.id))
        if updated.status.value == "dispatched":
            self.sent_at[updated.id] = self.clock.now
        return True


def bench_lateness(seconds_per_row: float) -> dict[str, Any]:
    """20,000 rows over two hours (5,000 due in one minute, a fifth respecting business hours) through the
    real Dispatcher on a simulated clock; each row costs the per-row time measured against moto."""
    from scheduled_comms.composition import dispatch_config
    from scheduled_comms.logic.business_hours import next_window_start
    from scheduled_comms.logic.dispatch.engine import Dispatcher
    from scheduled_comms.models.business_hours import BusinessHours, Holidays
    from scheduled_comms.models.domain import Channel, Communication, SendResult, Status
    from scheduled_comms.models.values import new_id
    from scheduled_comms.observability import metrics

    rng = random.Random(7)
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
    clock = SimClock(0.0)
    store = SimStore(clock, seconds_per_row)
    hours = BusinessHours()
    zones = ["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
    sendable: dict[str, float] = {}
    for i in range(SIM_ROWS):
        offset = 3600 + rng.uniform(0, 60) if i < SIM_BURST else rng.uniform(0, 7200)
        scheduled = start + timedelta(seconds=offset)
        respect = i % 5 == 0
        zone = rng.choice(zones)
        row = Communication(
            id=new_id(scheduled),
            company_id="c",
            channel=Channel.EMAIL,
            status=Status.PENDING,
            scheduled_for=scheduled,
            timezone=zone,
            respect_business_hours=respect,
            payload={"to_email": "a@example.com", "subject": "s", "html_body": "b"},
            max_attempts=3,
            created_at=start,
            updated_at=start,
        )
        store.add(row)
        opens = next_window_start(scheduled, hours, zone) if respect else scheduled
        sendable[row.id] = ((opens or scheduled) - start).total_seconds()

    class Sender:
        def send(self, row: Communication) -> SendResult:
            clock.now += seconds_per_row
            return SendResult.sent("m")

    config = dispatch_config()
    hours_source = type(
        "Hours", (), {"business_hours": lambda self, company: hours, "holidays": lambda self, company: Holidays()}
    )()
    dispatcher = Dispatcher(
        store,
        Sender(),
        hours_source,
        config,
        rng=random.Random(1),
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    tick_at = 0.0
    horizon = 4 * 24 * 3600.0
    while len(store.sent_at) < SIM_ROWS and tick_at < horizon:
        clock.now = max(clock.now, tick_at)
        origin = clock.now
        dispatcher.run(start + timedelta(seconds=origin), remaining_seconds=lambda o=origin: 90 - (clock.now - o))
        metrics.clear_metrics()  # no Lambda here to flush them
        tick_at += config.tick_interval_seconds
        while tick_at < clock.now:
            tick_at += config.tick_interval_seconds
        if not any(store.heaps) and len(store.sent_at) < SIM_ROWS:
            break
    lateness = sorted(max(0.0, store.sent_at[r] - sendable[r]) for r in store.sent_at)

    def pct(p: float) -> float:
        return round(lateness[min(len(lateness) - 1, int(p * len(lateness)))], 2)

    return {
        "lateness_s": {"p50": pct(0.5), "p99": pct(0.99), "max": round(lateness[-1], 2), "rows": len(lateness)},
        "lateness_values": lateness,
    }


def plot(values: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    axis.hist(values, bins=60, color="#3b6ea5")
    axis.set_xlabel("lateness (s): send time minus the time the row became sendable")
    axis.set_ylabel("rows")
    axis.set_yscale("log")
    axis.set_title(f"Dispatch lateness, {len(values):,} simulated rows")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def bench_lateness_model() -> dict[str, Any]:
    from benchmarks.lateness_model import bench

    print("lateness model: real runs against the fake AWS, then the model's scenarios ...", flush=True)
    return bench(setup_stack)


def bench_campaigns() -> dict[str, Any]:
    """Plan a campaign of CAMPAIGN_CONTACTS contacts with the real planner (one run, as the planner function
    makes it), counting its DynamoDB requests; then the floor: bare BatchWriteItem of the same items (the rows
    and the contacts it wrote, under other keys) on the same backend. ratio = floor / planner (1 = no overhead)."""
    import uuid

    from campaign_week import draft_campaign
    from scheduled_comms import composition
    from scheduled_comms.adapters.aws import client
    from scheduled_comms.adapters.dynamodb.items import CAMPAIGN_PREFIX, contact_list_partition
    from scheduled_comms.logic.campaigns.scheduling import plan_campaign
    from scheduled_comms.models.campaigns import Contact
    from scheduled_comms.models.domain import now_utc

    now = now_utc()
    campaign = draft_campaign(company_with_number, now, 2000, "bench")
    company_id = campaign.company_id
    store, plans = composition.campaign_store(), composition.campaign_plan_store()
    numbers = (f"+1212{200 + i // 10_000}{i % 10_000:04d}" for i in range(CAMPAIGN_CONTACTS))
    contacts = [Contact(phone_number=number, name=f"Contact {i}") for i, number in enumerate(numbers)]
    print(f"campaigns: {CAMPAIGN_CONTACTS} contacts stored ...", flush=True)
    created = store.create(campaign, contacts)
    scheduled = store.schedule(created, CAMPAIGN_CONTACTS, now)
    counter = RequestCounter()
    client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)
    print("campaigns: planned by the planner ...", flush=True)
    began = time.perf_counter()
    report = plan_campaign(plans, company_id, scheduled.id, now_utc, lambda: 900.0)
    seconds = time.perf_counter() - began
    client("dynamodb").meta.events.unregister("before-parameter-build.dynamodb", counter)
    assert report.finished and report.planned == CAMPAIGN_CONTACTS, report
    requests = sum(counter.counts.values())
    # The floor: the same items the planner wrote (its rows and its contacts), written bare under another company.
    partition = contact_list_partition(CAMPAIGN_PREFIX, company_id, scheduled.id)
    written = [item for item in _table_items(partition)] + _rows_of(company_id)
    elsewhere = f"CO#{uuid.uuid4()}"
    copies = [{**item, "pk": {"S": f"{elsewhere}#{item['pk']['S']}"}} for item in written]
    print(f"campaigns: the floor, {len(copies)} items with bare BatchWriteItem ...", flush=True)
    began = time.perf_counter()
    store.batch_put(copies)
    floor = time.perf_counter() - began
    # A redistribution rewrites items that exist (moto then updates their index entries too): the same bare
    # BatchWriteItem once more, over the copies just written.
    began = time.perf_counter()
    store.batch_put(copies)
    rewrite_floor = time.perf_counter() - began
    # The spec's third example on the planned campaign: every contact (none dialled yet) redistributed by the
    # planner over the new schedule, as PATCH starts it; its floor is the plan's (the same items, rewritten).
    planned = store.get(company_id, scheduled.id, consistent=True)
    assert planned is not None
    edited = planned.settings.model_copy(update={"start_time": "09:30", "end_time": "16:30", "max_calls_per_day": 1500})
    store.redistribute(planned, {"settings": edited.model_dump(mode="json")}, now_utc())
    counter = RequestCounter()
    client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)
    print("campaigns: redistributed by the planner ...", flush=True)
    began = time.perf_counter()
    moved = plan_campaign(plans, company_id, scheduled.id, now_utc, lambda: 900.0)
    redistribute_seconds = time.perf_counter() - began
    client("dynamodb").meta.events.unregister("before-parameter-build.dynamodb", counter)
    assert moved.finished and moved.planned == CAMPAIGN_CONTACTS, moved
    rows_after = len(_rows_of(company_id))
    assert rows_after == len(written) - CAMPAIGN_CONTACTS, "a redistribution moves the rows, it adds none"
    return {
        "plan_100k": {
            "contacts": CAMPAIGN_CONTACTS,
            "seconds": round(seconds, 2),
            "floor_seconds": round(floor, 2),
            "ratio": round(floor / seconds, 3),
            "requests_per_contact": round(requests / CAMPAIGN_CONTACTS, 4),
            "items_written_per_contact": round(len(written) / CAMPAIGN_CONTACTS, 3),
        },
        "redistribute_100k": {
            "contacts": CAMPAIGN_CONTACTS,
            "seconds": round(redistribute_seconds, 2),
            "floor_seconds": round(floor, 2),
            "ratio": round(floor / redistribute_seconds, 3),
            "rewrite_floor_seconds": round(rewrite_floor, 2),
            "ratio_to_rewrite": round(rewrite_floor / redistribute_seconds, 3),
            "requests_per_contact": round(sum(counter.counts.values()) / CAMPAIGN_CONTACTS, 4),
        },
    }


def bench_campaign_week() -> dict[str, Any]:
    """A simulated working week of a 5,000-contact batch call under overlapping ticks (``campaign_week``), on a
    stack of its own (a small table keeps moto's index queries quick)."""
    from campaign_week import bench_week

    print("campaigns: a simulated week of a 5,000-contact batch call, three overlapping ticks a minute ...", flush=True)
    with mock_aws():
        setup_stack()
        return bench_week(company_with_number)


def _table_items(partition: str) -> list[dict[str, Any]]:
    """Every contact item of a campaign's partition (a query; the benchmark's own read, not measured)."""
    from scheduled_comms.settings import get_settings

    dynamodb, found, request = (
        boto3.client("dynamodb"),
        [],
        {
            "TableName": get_settings().communications_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ct)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":ct": {"S": "CT#"}},
        },
    )
    while True:
        page = dynamodb.query(**request)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _rows_of(company_id: str) -> list[dict[str, Any]]:
    from scheduled_comms.adapters.dynamodb.items import ROW_PREFIX, row_partitions
    from scheduled_comms.settings import get_settings

    dynamodb, found = boto3.client("dynamodb"), []
    for pk in row_partitions(company_id):
        request: dict[str, Any] = {
            "TableName": get_settings().communications_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sc)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":sc": {"S": ROW_PREFIX}},
        }
        while True:
            page = dynamodb.query(**request)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def main_only(part: str) -> None:
    """One part alone, merged into the last results (the quick loop while working on it)."""
    results = json.loads((HERE / "results.json").read_text())
    if part in ("campaigns", "campaign_week"):
        if part == "campaigns":
            with mock_aws():
                setup_stack()
                figures = bench_campaigns()
        else:
            figures = {"week": bench_campaign_week()}
        print(json.dumps({"campaigns": figures}), flush=True)
        # Read again: these parts run long, and another part run alone may have written its figures meanwhile.
        results = json.loads((HERE / "results.json").read_text())
        results.setdefault("campaigns", {}).update(figures)
    elif part == "lateness_model":
        results["lateness_model"] = bench_lateness_model()
    elif part == "cold_imports":
        print("cold imports ...", flush=True)
        cold = bench_cold_imports()
        results["cold_import_ms"], results["cold_import_ratio"] = cold["ms"], cold["ratio"]
        results["cold_import_ratio_max"] = cold["ratio_max"]
    elif part == "tick":
        with mock_aws():
            setup_stack()
            from scheduled_comms.adapters.aws import client

            counter = RequestCounter()
            client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)
            print(f"tick: {TICK_ROWS} due rows through the real tick, then the bare loop ...", flush=True)
            tick = bench_tick(counter)
        rows, counts = max(1, tick["tick"]["rows"]), tick["tick_counts"]
        results["tick"] = tick["tick"]
        per_message = results["ddb_requests_per_message"]
        for kind in ("claim", "finalize", "do_not_contact"):
            per_message[kind] = round(counts.get(kind, 0) / rows, 3)
        per_message["query"] = round(counts.get("query", 0) / rows, 4)
        per_message["total"] = round(sum(v for k, v in per_message.items() if k != "total"), 3)
    elif part in ("api", "cost"):
        with mock_aws():
            stack = setup_stack()
            from cost_model import Meter, MotoMeter, measure_message_costs, table_shapes
            from scheduled_comms.adapters.aws import client
            from scheduled_comms_local.lambda_host import FunctionHost

            if part == "cost":
                print("cost: messages created and sent with DynamoDB units metered ...", flush=True)
                meter = Meter(table_shapes(stack.table_definitions()))
                MotoMeter(meter).install()
                create_event = json.loads((ROOT / "events" / "create_communication.json").read_text())
                costs = measure_message_costs(stack, meter, FunctionHost(stack), create_event)
                results["cost"] = cost_summary(costs)
                results["cost_detail"] = costs
                results["cost_usd_per_million"] = costs["email_1kb"]["usd_per_million"]
            else:
                counter = RequestCounter()
                client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)
                print(f"api: {API_REQUESTS} creates through the handler, then bare puts ...", flush=True)
                api = bench_api(counter, stack)
                results["api"] = api["api"]
                results["ddb_requests_per_message"]["create"] = round(
                    sum(api["create_counts"].values()) / API_REQUESTS, 3
                )
    else:
        raise SystemExit(
            f"BENCH_ONLY={part}: one of lateness_model, cold_imports, api, cost, tick, campaigns, campaign_week"
        )
    write(results)


def cost_summary(costs: dict[str, Any]) -> dict[str, Any]:
    return {
        **{
            name: {"write_units": c["write_units"], "usd_per_million": c["usd_per_million"]}
            for name, c in costs.items()
        },
        "storage_gb_month_per_million": costs["email_1kb"]["storage_gb_month_per_million"],
    }


def main() -> None:
    if os.environ.get("BENCH_ONLY"):
        main_only(os.environ["BENCH_ONLY"])
        return
    began = time.perf_counter()
    results: dict[str, Any] = {}
    with mock_aws():
        stack = setup_stack()
        from cost_model import Meter, MotoMeter, measure_message_costs, table_shapes
        from scheduled_comms.adapters.aws import client
        from scheduled_comms_local.lambda_host import FunctionHost

        # Costs first, on tables holding only their own rows (the tick sends whatever is due).
        print("cost: messages created and sent with DynamoDB units metered ...", flush=True)
        meter = Meter(table_shapes(stack.table_definitions()))
        MotoMeter(meter).install()
        create_event = json.loads((ROOT / "events" / "create_communication.json").read_text())
        costs = measure_message_costs(stack, meter, FunctionHost(stack), create_event)
        counter = RequestCounter()
        client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)
        # The API first, on a small table: moto's scans and index queries slow as the table grows.
        print(f"api: {API_REQUESTS} creates through the handler, then bare puts ...", flush=True)
        api = bench_api(counter, stack)
        print(f"tick: {TICK_ROWS} due rows through the real tick, then the bare loop ...", flush=True)
        client("dynamodb").meta.events.register("before-parameter-build.dynamodb", counter)  # a new client
        tick = bench_tick(counter)
        print(f"campaigns: plan {CAMPAIGN_CONTACTS} contacts ...", flush=True)
        campaigns = bench_campaigns()
    campaigns["week"] = bench_campaign_week()
    rows = max(1, tick["tick"]["rows"])
    tick_counts = tick["tick_counts"]
    per_message = {
        "create": round(sum(api["create_counts"].values()) / API_REQUESTS, 3),
        "claim": round(tick_counts.get("claim", 0) / rows, 3),
        "finalize": round(tick_counts.get("finalize", 0) / rows, 3),
        "query": round(tick_counts.get("query", 0) / rows, 4),
        "do_not_contact": round(tick_counts.get("do_not_contact", 0) / rows, 3),
    }
    per_message["total"] = round(sum(per_message.values()), 3)
    print("cold imports ...", flush=True)
    cold = bench_cold_imports()
    seconds_per_row = 1 / tick["tick"]["rows_per_s"] / 1  # measured, all threads together
    print(f"lateness: {SIM_ROWS} simulated rows ...", flush=True)
    lateness = bench_lateness(seconds_per_row)
    print(f"local API: `scheduled-comms dev` over HTTP, 1 then 8 clients x {LOCAL_API_REQUESTS_PER_CLIENT} ...")
    local_api = bench_local_api()
    results = {
        "tick": tick["tick"],
        "ddb_requests_per_message": per_message,
        "lateness_s": lateness["lateness_s"],
        "cold_import_ms": cold["ms"],
        "cold_import_ratio": cold["ratio"],
        "cold_import_ratio_max": cold["ratio_max"],
        "api": api["api"],
        "cost": cost_summary(costs),
        "cost_detail": costs,
        "cost_usd_per_million": costs["email_1kb"]["usd_per_million"],
        "local_api": local_api,
        "campaigns": campaigns,
    }
    results["lateness_model"] = bench_lateness_model()
    results["suite_seconds"] = round(time.perf_counter() - began, 1)
    plot(lateness["lateness_values"], HERE / "lateness.png")
    write(results)


def write(results: dict[str, Any]) -> None:
    """results.json, report.md and the model's plot (its per-row values go to the plot, not the json)."""
    from benchmarks.lateness_model import plot as plot_model

    values = results["lateness_model"].pop("_values", None)
    if values is not None:  # only when the model ran (BENCH_ONLY of another part keeps its plot)
        plot_model(values, HERE / "lateness_model.png")
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "report.md").write_text(report(results))
    print(json.dumps(results, indent=2))


def main_local_api() -> None:
    """`--only local_api`: measure the local API alone, keeping every other figure of the last full run."""
    results = json.loads((HERE / "results.json").read_text())
    print(f"local API: `scheduled-comms dev` over HTTP, 1 then 8 clients x {LOCAL_API_REQUESTS_PER_CLIENT} ...")
    results["local_api"] = bench_local_api()
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "report.md").write_text(report(results))
    print(json.dumps(results["local_api"], indent=2))


# The writes a row needs at the least with a durable claim of its own and a due index, besides storing it
# once (its put, and its payload's item when the payload is kept apart): its entry in the due index, the
# claim's write of the row, the finish's write of the row, and the entry's removal from the index when the
# row finishes; the row's item (without its payload) within 1 KB, an index entry too.
FLOOR_WRITES = {
    "its due-index entry": 1,
    "the claim (the row only)": 1,
    "the finish (the row)": 1,
    "the entry's removal from the due index": 1,
}


def floor_lines(email: dict[str, Any]) -> list[str]:
    """The cost floor of the design for the 1 KB email, from DynamoDB's billing rules and this run's other
    figures, against what the code writes (``email``: the 1 KB email's measured figures)."""
    stored = email["write_units_by_step"].get("PutItem:table", 0)  # the row and its payload, written once
    floor_units = stored + sum(FLOOR_WRITES.values())
    by_service = email["usd_per_million_by_service"]
    floor_dynamodb = floor_units * PRICES["dynamodb_write_unit"] * 1e6
    reads = email["read_units"] * PRICES["dynamodb_read_unit"] * 1e6
    events = email["eventbridge_events"] * PRICES["eventbridge_event"] * 1e6
    floor_total = floor_dynamodb + reads + events + by_service["lambda"]
    above = email["write_units"] - floor_units
    return [
        "### The floor of this design (1 KB email)",
        "",
        f"A row with a durable claim of its own and a due index needs at least {floor_units:g} write units: "
        f"storing it once ({stored:g}: the row's item and its payload's, {email['request_bytes']} bytes asked "
        "for; an item is billed by the kilobyte, and a payload inside the row would bill every later write of "
        "the row for it), "
        + ", ".join(f"{name} ({units})" for name, units in FLOOR_WRITES.items())
        + f": ${floor_dynamodb:.3f} per million in writes alone, above the $3 goal before anything else. With "
        f"this run's reads (${reads:.3f}), its one event per finished row (the event contract: one event per "
        f"row and status, ${events:.2f}) and its Lambda time (${by_service['lambda']:.2f}, an upper bound "
        f"measured against moto), the floor is ${floor_total:.2f} per million. The code writes "
        f"{email['write_units']:g} units (${email['usd_per_million']} in all), {above:g} above the floor: the "
        "credit's spend (one conditional update of the balance per row, exact; debits summed per company by "
        "the stream consumer would save it but allow an overdraft while they lag) and the claim's rewrite of "
        "the row's due-index entry (the index projects `status` and `lease_until`, which the claim changes; "
        "an index without them is a new index, as DynamoDB cannot change an index's projection, and a tick "
        "that reads each found row's lease from the row, at a fifth of a write's price).",
    ]


def report(results: dict[str, Any]) -> str:
    from benchmarks.lateness_model import report_lines

    tick, api, per, late = results["tick"], results["api"], results["ddb_requests_per_message"], results["lateness_s"]
    costs = results["cost_detail"]
    lines = [
        "# Benchmarks",
        "",
        "Measured on this machine against moto in-process (so absolute numbers are moto's, the ratios are ours).",
        "",
        "| Figure | Value | How |",
        "|---|---|---|",
        f"| tick rows/s | {tick['rows_per_s']} | {tick['rows']} due rows (email and SMS) through the real tick, one pass |",
        f"| floor rows/s | {tick['floor_rows_per_s']} | the same rows: due queries, one claim, one send, one finalize each |",
        f"| tick / floor | {tick['ratio']} | 1.0 means the tick adds nothing over the minimum calls |",
        f"| DynamoDB requests per message | {per['total']} | create {per['create']}, claim {per['claim']}, finalize {per['finalize']}, query {per['query']}, do-not-contact check {per.get('do_not_contact', 0)} (one query of the recipient's entries a send; botocore events) |",
        f"| moto-based lateness p50 / p99 / max (s) | {late['p50']} / {late['p99']} / {late['max']} | the older simulation (it measures moto, not the design: one send at a time, each costing the tick's time per row against moto): {late['rows']} rows over 2 h, 5,000 due in one minute, 1/5 respecting business hours; the lateness model below replaces it |",
        f"| API creates/s (floor), ratio | {api['create_per_s']} ({api['floor_per_s']}), {api['create_ratio']} | {API_REQUESTS} POSTs through the create handler in process (a 1 KB email) vs bare `PutItem`s of the same rows, in rounds of {API_ROUND} each (so the machine's load falls on both alike); `api.create_ratio` |",
        *(
            [
                f"| credit spends/s, create vs a put and a spend | {api['spend_per_s']}, {api['create_ratio_to_put_and_spend']} | the create's conditional update of the balance alone, {API_REQUESTS} times in the same rounds; then the creates against a bare put plus a bare spend (1.0: the create adds nothing to its two writes; in process they cannot overlap) |"
            ]
            if "spend_per_s" in api
            else []
        ),
        f"| local API, 1 client: requests/s, p99 (ms), stack CPU ms per request | {results['local_api']['clients_1']['per_s']}, {results['local_api']['clients_1']['p99_ms']}, {results['local_api']['clients_1']['cpu_ms_per_request']} | `scheduled-comms dev` in its own process over HTTP; one keep-alive client alternating a create and a list of its own rows, {LOCAL_API_REQUESTS_PER_CLIENT} requests |",
        f"| local API, 8 clients: requests/s, p99 (ms), stack CPU ms per request | {results['local_api']['clients_8']['per_s']}, {results['local_api']['clients_8']['p99_ms']}, {results['local_api']['clients_8']['cpu_ms_per_request']} | the same with 8 concurrent clients (a small team's integration tests), {8 * LOCAL_API_REQUESTS_PER_CLIENT} requests |",
        "",
        "## Cost per message",
        "",
        "Each message created through the create handler, counted by the real tick and sent by the dispatch worker",
        "it handed the shards to (through the dispatch queue, as Lambda's SQS mapping delivers it, paced by the",
        "shared limiter at SES 1,500/s); DynamoDB units computed",
        "by `benchmarks/cost_model.py` from the items each request changed (read before and after, inside moto)",
        "and the tables and indexes of `template.yaml`, by DynamoDB's published rules (see its docstring:",
        "sizes, index entries, transactions at 2x, refused conditional writes). Lambda is the handlers' time",
        "in this process against moto (an upper bound), at the template's memory sizes; EventBridge is the",
        "events the stream consumer published. Storage: the sent row and its index entries, kept for the retention (`RETENTION_DAYS`, 90 days by default) before TTL deletes it.",
        "SQS is the tick's `SendMessageBatch` and the mapping's receive and delete of the slice, over the messages",
        "the slice sent (the mapping's empty long polls, a few requests a minute whatever the traffic, are a fixed",
        "cost a month, not a message's). The limiter's writes (`rate:` below) are one per batch of slots it",
        "reserves, so they depend on how sends arrive: see the lateness model's limiter writes per send.",
        "",
        "| Message | request bytes | write units (create; limiter) | read units | events | SQS requests | USD per million (DynamoDB / Lambda / EventBridge / SQS) | stored bytes |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {name} | {c['request_bytes']} | {c['write_units']} ({c['write_units_create']}; {c.get('limiter_write_units', 0)}) | {c['read_units']} | {c['eventbridge_events']} | {c.get('sqs_requests', 0)} | "
            f"{c['usd_per_million']} ({' / '.join(str(v) for v in c['usd_per_million_by_service'].values())}) | {c['stored_bytes']} |"
            for name, c in costs.items()
        ],
        "",
        "Write units of the 1 KB email by step: "
        + ", ".join(f"{k} {v}" for k, v in costs["email_1kb"]["write_units_by_step"].items()),
        "",
        "Prices (us-east-1): " + ", ".join(f"{k} ${v:.10f}" for k, v in PRICES.items()),
        "",
        *floor_lines(costs["email_1kb"]),
        "",
        "## Cold imports",
        "",
        "Each handler imported as Lambda imports it at a cold start: from the `sam build` artifact, on Python 3.12,",
        "without bytecode (Lambda compiles the artifact's sources at every cold start), in the function's environment",
        f"as deployed; the median CPU time of {COLD_IMPORT_SAMPLES} fresh interpreters each, against boto3 alone imported",
        f"the same way ({results['cold_import_ms']['boto3']} ms). Worst ratio: {results['cold_import_ratio_max']}.",
        "",
        "| Function | ms | x boto3 |",
        "|---|---|---|",
        *[
            f"| {name} | {results['cold_import_ms'][name]} | {ratio} |"
            for name, ratio in results["cold_import_ratio"].items()
        ],
        "",
        *campaign_lines(results.get("campaigns", {})),
        "![moto-based lateness](lateness.png)",
        "",
        *report_lines(results["lateness_model"]),
    ]
    return "\n".join(lines)


def campaign_lines(campaigns: dict[str, Any]) -> list[str]:
    """The report's section on batch calls (what is there of it: a part run alone may leave some out)."""
    lines = ["## Batch calls", ""]
    if plan := campaigns.get("plan_100k"):
        lines += [
            f"**Planning {plan['contacts']:,} contacts** (the real planner, one run as its function makes it, against",
            f"moto in process): {plan['seconds']} s, {plan['requests_per_contact']} DynamoDB requests and",
            f"{plan['items_written_per_contact']} items written a contact (its contact item and its call row). The floor",
            f"is bare BatchWriteItem of the same items under other keys, on the same backend: {plan['floor_seconds']} s;",
            f"ratio {plan['ratio']} (1.0: the planner adds nothing to its writes). On DynamoDB the writes are 25 a request",
            "and the planner's own work (slots, rows) is CPU beside them; moto's time per item stands in for both here.",
            "",
        ]
    if moved := campaigns.get("redistribute_100k"):
        lines += [
            f"**Redistributing them** (the spec's PATCH on the planned campaign, every contact moved): {moved['seconds']} s;",
            f"ratio {moved['ratio']} to the plan's floor (writes of new items), {moved.get('ratio_to_rewrite', '-')} to",
            f"the same BatchWriteItem rewriting those items ({moved.get('rewrite_floor_seconds', '-')} s: moto updates the",
            "index entries of an item it replaces), which is what a redistribution does; it also reads every contact",
            "back (consistent queries) and the rows' index keys change with their slots.",
            "",
        ]
    if week := campaigns.get("week"):
        lines += [
            f"**A simulated working week** of a {week['contacts']:,}-contact batch call (`benchmarks/campaign_week.py`):",
            f"max_concurrent_calls {week['max_concurrent_calls']}, {week['overlapping_ticks']} real dispatch engines a",
            f"minute over {week['tick_moments']:,} tick moments of simulated time, the campaign gate's call slots, and",
            "each call's outcome from the voice simulator's seeded mix, delivered by the outcome webhook's logic at the",
            f"first tick after the call ends. Calls ever in flight at once: {week['max_in_flight']} (the cap:",
            f"{week['max_concurrent_calls']}); contacts dialled twice: {week['dialled_twice']}; contacts never dialled:",
            f"{week['lost']}; not finished when the week is over: {week['not_finished']}; the campaign ends",
            f"`{week['status']}`. Left out: the real provider's latency and the outcome webhooks' own races with the",
            "ticks (the simulation delivers them between tick moments).",
            "",
        ]
    return lines if len(lines) > 2 else []


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["local_api"], help="measure only this part; the other figures stay")
    sys.path.insert(0, str(ROOT))
    if parser.parse_args().only == "local_api":
        main_local_api()
    else:
        main()
