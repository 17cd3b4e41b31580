"""Fixtures of the dispatch engine: the API over real HTTP (for webhooks), the voice simulator, ticks."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from scheduled_comms import composition
from scheduled_comms_cli.outbox import sent_messages
from scheduled_comms_cli.queues import QueuePump, TickRun, run_tick
from scheduled_comms_cli.streams import StreamPump
from scheduled_comms_cli.voice_simulator import VoiceProviderSimulator
from scheduled_comms_local.gateway import make_http_server
from scheduled_comms_local.lambda_host import FunctionHost, scheduled_event
from scheduled_comms_local.template import Stack


@pytest.fixture(scope="session")
def live_api(stack: Stack, api) -> Iterator[str]:
    """The in-process gateway served over HTTP, so the voice simulator can post webhooks to it."""
    server = make_http_server(api.gateway, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["VOICE_WEBHOOK_URL"] = f"{url}/v1/webhooks/voice"
    composition.reset()
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def simulator(live_api: str) -> Iterator[VoiceProviderSimulator]:
    sim = VoiceProviderSimulator().start()
    yield sim
    sim.stop()


@pytest.fixture
def fresh_simulator(simulator: VoiceProviderSimulator) -> Iterator[VoiceProviderSimulator]:
    simulator.fail_next.clear()
    simulator.delay_seconds = 0
    simulator.auto_outcome = None
    simulator.campaign_outcomes = None
    simulator.fault = None
    yield simulator
    simulator.campaign_outcomes = None
    simulator.fail_next.clear()
    simulator.delay_seconds = 0
    simulator.fault = None


@pytest.fixture(scope="session")
def events_queue(stack: Stack) -> str:
    """An SQS queue subscribed to every event the service publishes on its bus."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="test-transitions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ["EVENT_BUS_NAME"]
    events.put_rule(Name="all-transitions", EventBusName=bus, EventPattern=json.dumps({"source": ["scheduled-comms"]}))
    events.put_targets(Rule="all-transitions", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return queue_url


def published(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class SimulatedCrash(BaseException):
    """The Lambda process dying here: a BaseException, so no ``except Exception`` in the service stops it."""


class Ticker:
    """Ticks as EventBridge fires them, their dispatch workers as the queue's event source mapping starts
    them; then, as Lambda's stream polling would, the consumer publishes."""

    def __init__(self, stack: Stack) -> None:
        self.host = FunctionHost(stack)
        self.pump = StreamPump(stack, self.host)
        self.queue = QueuePump(stack, self.host)

    def run(self, event: dict[str, Any]) -> TickRun:
        """The tick and its workers (a worker's error is in its delivery); the stream is not drained."""
        return run_tick(self.host, self.queue, event)

    def at(self, moment: datetime, single_pass: bool = True) -> dict[str, Any]:
        try:
            run = self.run(scheduled_event(moment, single_pass=single_pass))
            for delivery in run.failed:
                raise delivery.error  # type: ignore[misc]
            return run.summary()
        finally:
            self.pump.drain()


@pytest.fixture(scope="session")
def ticker(stack: Stack, live_api: str) -> Ticker:
    return Ticker(stack)


@pytest.fixture
def isolated_tables(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Tables of their own for a test that fills them (moto's index queries read the whole table)."""
    from scheduled_comms_local.template import create_resources

    own = Stack(f"iso{uuid.uuid4().hex[:8]}")
    create_resources(
        own, boto3.client("dynamodb"), boto3.client("secretsmanager"), boto3.client("events"), kms=boto3.client("kms")
    )
    for name, value in own.environment().items():
        if name in ("COMMUNICATIONS_TABLE", "CURSOR_SECRET_ARN", "EVENT_BUS_NAME"):
            monkeypatch.setenv(name, value)
    composition.reset()
    yield own
    for spec in own.table_definitions().values():
        boto3.client("dynamodb").delete_table(TableName=spec["create"]["TableName"])
    for logical_id in own.resources("AWS::Events::EventBus"):
        boto3.client("events").delete_event_bus(Name=own.physical_name(logical_id))
    composition.reset()


def soon(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def outbox_for(recipient: str, simulator: VoiceProviderSimulator | None = None) -> list[dict[str, Any]]:
    calls = simulator.calls() if simulator else []
    return [entry for entry in sent_messages(calls) if recipient in entry["recipient"]]


def unique_email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.com"
