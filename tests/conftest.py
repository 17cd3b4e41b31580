"""Shared fixtures: moto with the template's resources, companies with keys, and an in-process gateway."""

from __future__ import annotations

import json
import os
import socket

# As in Lambda, the Powertools variables exist before any handler module is imported.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "scheduled-comms")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ScheduledComms")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import settings
from moto import mock_aws
from scheduled_comms import composition
from scheduled_comms.logic.auth import ALL_SCOPES, issue_api_key
from scheduled_comms.models.domain import now_utc
from scheduled_comms_cli.local_stack import LOCAL_CREDENTIALS
from scheduled_comms_local.gateway import Gateway
from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.moto_patches import prepare_moto_dynamodb, prepare_moto_events, prepare_moto_sns
from scheduled_comms_local.template import Stack, create_resources

from tests.fake_dns import PUBLIC_ADDRESS, FakeDns

# Tests assert behaviour, not speed: on a loaded machine hypothesis' per-example deadline only adds flakes.
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


SENDER_DOMAIN = "scheduled-comms.test"
LOCAL_ENVIRONMENT = {
    **LOCAL_CREDENTIALS,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "DEFAULT_FROM_EMAIL": f"noreply@{SENDER_DOMAIN}",
    # moto has no send quota: sends are not paced here (the pacing tests build their own buckets).
    "SES_SENDS_PER_SECOND": "0",
    "SMS_SENDS_PER_SECOND": "0",
    "VOICE_CALLS_PER_SECOND": "0",
}


@pytest.fixture(scope="session", autouse=True)
def fake_dns() -> Iterator[FakeDns]:
    """The session's DNS: the names tests register resolve to a public address without the internet."""
    dns = FakeDns()
    dns.answer("voice.example.com", [PUBLIC_ADDRESS])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
        yield dns


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """moto in-process with the tables and secrets of template.yaml, and the functions' environment.

    One backend serves the whole session: every test works in companies of its own, which is the
    isolation the service itself guarantees.
    """
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(LOCAL_ENVIRONMENT)
    prepare_moto_dynamodb()
    prepare_moto_events()
    prepare_moto_sns()
    with mock_aws():
        stack = Stack("test")
        create_resources(
            stack,
            boto3.client("dynamodb"),
            boto3.client("secretsmanager"),
            boto3.client("events"),
            kms=boto3.client("kms"),
        )
        os.environ.update(stack.environment())
        os.environ.update({k: v for k, v in LOCAL_ENVIRONMENT.items() if k not in LOCAL_CREDENTIALS})
        boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER_DOMAIN)
        boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
        composition.reset()
        # The voice simulator listens on plain HTTP on 127.0.0.1, as in the local stack.
        composition.allow_loopback_http_endpoints()
        yield stack
        composition.reset()
    os.environ.clear()
    os.environ.update(saved)


@dataclass
class Company:
    id: str
    api_key: str
    key_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture(scope="session")
def make_company(stack: Stack) -> Callable[..., Company]:
    import uuid

    def make(credits: int = 100, scopes: tuple[str, ...] = ALL_SCOPES, registered: bool = True) -> Company:
        """A company with a key; ``registered``: it also has the sender number and voice config the
        sample bodies name (``PHONE_NUMBER_ID``, ``VOICE_CONFIG_ID``), as rows may name only what is registered."""
        company_id = str(uuid.uuid4())
        if credits:
            composition.credit_ledger().grant(company_id, credits, now_utc(), name="Test company")
        record, key = issue_api_key(composition.api_key_store(), company_id, scopes, now_utc())
        if registered:
            register_sample_references(company_id)
        return Company(company_id, key, record.key_id)

    return make


PHONE_NUMBER_ID = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
VOICE_CONFIG_ID = "9d1c5a7e-2f3b-4c6d-8e9f-0a1b2c3d4e5f"


def register_sample_references(company_id: str) -> None:
    """The number and voice config the sample bodies name (the config has no credentials: it cannot dial)."""
    from scheduled_comms.models.registry import PhoneNumber, VoiceAgentConfig

    now = now_utc()
    directory = composition.directory()
    directory.put_phone_number(company_id, PhoneNumber(id=PHONE_NUMBER_ID, number="+14155550100", created_at=now))
    config = VoiceAgentConfig(
        id=VOICE_CONFIG_ID,
        name="Sample agent",
        provider="http",
        endpoint_url="https://voice.example.com/calls",
        agent_id="agent-sample",
        created_at=now,
    )
    directory.put_voice_config(company_id, config, "arn:aws:secretsmanager:us-east-1:123456789012:secret:none")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class InProcessApi:
    """API Gateway's behaviour (routing, authorizer, proxy events) without sockets."""

    def __init__(self, stack: Stack) -> None:
        self.gateway = Gateway(stack, FunctionHost(stack))

    def request(
        self,
        method: str,
        path: str,
        company: Company | None = None,
        json_body: Any = None,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = dict(company.auth if company else {})
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        status, response_headers, text = self.gateway.handle(method, path, all_headers, body)
        return Reply(status, response_headers, text)


@pytest.fixture(scope="session")
def api(stack: Stack) -> InProcessApi:
    return InProcessApi(stack)
