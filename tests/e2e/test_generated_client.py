"""A client generated from the committed OpenAPI document by openapi-python-client drives every operation.

The client is generated at test time (never committed) and set to raise on any status the document
does not declare; every answer, errors included, must parse into the documented model.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from scheduled_comms_cli.openapi import DOCUMENT_PATHS

BIN = Path(sys.executable).parent
PACKAGE = "scheduled_communications_api_client"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(DOCUMENT_PATHS[0]), "--meta", "none"],
        cwd=out,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in (
                "client",
                "models",
                "types",
                "api.health.get_health",
                "api.settings.get_business_hours",
                "api.settings.put_business_hours",
                "api.registry.register_phone_number",
                "api.registry.list_phone_numbers",
                "api.registry.register_voice_agent_config",
                "api.registry.list_voice_agent_configs",
                "api.registry.put_user_sender",
                "api.registry.get_user_sender",
                "api.registry.list_user_senders",
                "api.registry.delete_user_sender",
                "api.scheduled_communications.create_scheduled_communication",
                "api.scheduled_communications.list_scheduled_communications",
                "api.scheduled_communications.get_scheduled_communication",
                "api.scheduled_communications.update_scheduled_communication",
                "api.scheduled_communications.dispatch_scheduled_communication_now",
                "api.scheduled_communications.cancel_scheduled_communication",
                "api.webhooks.receive_voice_call_outcome",
            )
        }
    finally:
        sys.path.remove(str(out))
    return SimpleNamespace(**{name.rpartition(".")[2]: module for name, module in modules.items()})


@pytest.fixture
def client(sdk: Any, service: Any) -> Any:
    return sdk.client.AuthenticatedClient(
        base_url=service.url, token=service.info["api_key"], raise_on_unexpected_status=True
    )


def later(hours: float = 24) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def test_every_operation_through_the_generated_client(sdk: Any, client: Any, service: Any) -> None:
    m = sdk.models

    health = sdk.get_health.sync_detailed(client=client)
    assert health.status_code == 200 and isinstance(health.parsed, m.HealthResponse)

    hours = m.BusinessHours.from_dict(
        {"timezone": "America/New_York", "windows": {"mon": [{"start": "09:00", "end": "17:00"}]}}
    )
    put = sdk.put_business_hours.sync_detailed(client=client, body=hours)
    got = sdk.get_business_hours.sync_detailed(client=client)
    assert put.status_code == 200 and got.status_code == 200
    assert got.parsed.data.timezone == "America/New_York"

    number = sdk.register_phone_number.sync_detailed(client=client, body=m.PhoneNumberCreate(number="+14155550188"))
    assert number.status_code == 201 and isinstance(number.parsed, m.PhoneNumberResponse)
    numbers = sdk.list_phone_numbers.sync_detailed(client=client)
    assert number.parsed.data.id in [n.id for n in numbers.parsed.data]

    refused = sdk.register_voice_agent_config.sync_detailed(
        client=client,
        body=m.VoiceAgentConfigCreate(
            agent_id="a", api_key="k" * 20, endpoint_url="http://not-https.example.com", name="Agent"
        ),
    )
    assert refused.status_code == 422 and isinstance(refused.parsed, m.ErrorResponse)
    assert [d.field for d in refused.parsed.error.details] == ["endpoint_url"]
    configs = sdk.list_voice_agent_configs.sync_detailed(client=client)
    assert service.info["voice_agent_outbound_config_id"] in [c.id for c in configs.parsed.data]

    user_id = uuid.uuid4()
    sender = m.UserSenderPut(from_email="sarah@dev.example.com", from_name="Sarah at Dev")
    put_sender = sdk.put_user_sender.sync_detailed(user_id, client=client, body=sender)
    assert put_sender.status_code == 200 and isinstance(put_sender.parsed, m.UserSenderResponse)
    got_sender = sdk.get_user_sender.sync_detailed(user_id, client=client)
    assert got_sender.parsed.data.from_name == "Sarah at Dev"
    senders = sdk.list_user_senders.sync_detailed(client=client)
    assert str(user_id) in [s.user_id for s in senders.parsed.data]
    outside = sdk.put_user_sender.sync_detailed(
        uuid.uuid4(), client=client, body=m.UserSenderPut(from_email="sarah@elsewhere.example.com")
    )
    assert outside.status_code == 422 and [d.field for d in outside.parsed.error.details] == ["from_email"]

    # A local time without offset, read in the company's zone (its business hours, set above).
    local = later().replace(tzinfo=None, hour=9, minute=0, second=0)
    email = m.CreateEmail.from_dict(
        {
            "channel": "email",
            "scheduled_for": local.isoformat(),
            "payload": {
                "to_email": "client@example.com",
                "subject": "Hello",
                "html_body": "<p>Hi</p>",
                "sender_user_id": str(user_id),
            },
        }
    )
    created = sdk.create_scheduled_communication.sync_detailed(client=client, body=email)
    assert created.status_code == 201 and isinstance(created.parsed, m.CommunicationResponse)
    row_id = created.parsed.data.id
    assert created.parsed.data.timezone == "America/New_York"
    assert created.parsed.data.timezone_source == m.TimezoneSource.COMPANY_DEFAULT
    assert created.parsed.data.scheduled_for == local.replace(tzinfo=ZoneInfo("America/New_York"))
    stranger = email.to_dict()
    stranger["payload"]["sender_user_id"] = str(uuid.uuid4())
    unknown = sdk.create_scheduled_communication.sync_detailed(client=client, body=m.CreateEmail.from_dict(stranger))
    assert unknown.status_code == 422
    assert [d.field for d in unknown.parsed.error.details] == ["payload.sender_user_id"]
    sms = m.CreateSms.from_dict(
        {
            "channel": "sms",
            "scheduled_for": later().isoformat(),
            "payload": {
                "phone_number_id": number.parsed.data.id,
                "to_number": "+14155550123",
                "message_body": "Hi",
            },
        }
    )
    voice = m.CreateVoiceCall.from_dict(
        {
            "channel": "voice_call",
            "scheduled_for": later().isoformat(),
            "payload": {
                "voice_agent_outbound_config_id": service.info["voice_agent_outbound_config_id"],
                "to_number": "+14155550123",
            },
        }
    )
    for body in (sms, voice):
        assert sdk.create_scheduled_communication.sync_detailed(client=client, body=body).status_code == 201
    invalid = email.to_dict() | {"timezone": "Mars/Olympus"}
    bad = sdk.create_scheduled_communication.sync_detailed(client=client, body=m.CreateEmail.from_dict(invalid))
    assert bad.status_code == 422 and [d.field for d in bad.parsed.error.details] == ["timezone"]

    listed = sdk.list_scheduled_communications.sync_detailed(client=client, channel=m.Channel.EMAIL, limit=5)
    assert listed.status_code == 200 and isinstance(listed.parsed, m.CommunicationListResponse)
    assert row_id in [row.id for row in listed.parsed.data]
    fetched = sdk.get_scheduled_communication.sync_detailed(row_id, client=client)
    assert fetched.status_code == 200 and fetched.parsed.data.status == m.Status.PENDING
    missing = sdk.get_scheduled_communication.sync_detailed(uuid.uuid4(), client=client)
    assert missing.status_code == 404 and missing.parsed.error.code == "not_found"

    change = m.UpdateCommunicationRequest.from_dict({"timezone": "Europe/Paris"})
    updated = sdk.update_scheduled_communication.sync_detailed(row_id, client=client, body=change)
    assert updated.status_code == 200 and updated.parsed.data.timezone == "Europe/Paris"
    assert updated.parsed.data.timezone_source == m.TimezoneSource.REQUEST
    flushed = sdk.dispatch_scheduled_communication_now.sync_detailed(row_id, client=client)
    assert flushed.status_code == 200 and flushed.parsed.data.original_scheduled_for is not None

    doomed = sdk.create_scheduled_communication.sync_detailed(client=client, body=email).parsed.data.id
    cancelled = sdk.cancel_scheduled_communication.sync_detailed(doomed, client=client)
    assert cancelled.status_code == 204 and cancelled.parsed is None
    again = sdk.cancel_scheduled_communication.sync_detailed(doomed, client=client)
    assert again.status_code == 422 and again.parsed.error.code == "not_pending"

    removed = sdk.delete_user_sender.sync_detailed(user_id, client=client)
    assert removed.status_code == 204 and removed.parsed is None
    removed_again = sdk.delete_user_sender.sync_detailed(user_id, client=client)
    assert removed_again.status_code == 404 and removed_again.parsed.error.code == "not_found"

    outcome = m.CallOutcome.from_dict(
        {
            "call_id": "call-1",
            "metadata": {
                "communication_id": row_id,
                "company_id": service.info["company_id"],
                "voice_agent_outbound_config_id": service.info["voice_agent_outbound_config_id"],
            },
            "answered": True,
            "end_reason": "completed",
        }
    )
    unsigned = sdk.receive_voice_call_outcome.sync_detailed(client=client, body=outcome)
    assert unsigned.status_code == 401 and isinstance(unsigned.parsed, m.ErrorResponse)
    assert json.loads(unsigned.content)["error"]["code"] == "unauthorized"
