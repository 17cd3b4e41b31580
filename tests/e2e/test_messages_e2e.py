"""Templated messages on the local stack: the admin CLI puts templates and brands; a HIPAA message sealed
before a restart is opened and sent after it (the stack keeps its KMS key); the dev key regains every scope."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.e2e.conftest import LocalService, free_port, start_dev, stop_dev
from tests.e2e.test_dev_state import wait_until_saved

pytestmark = pytest.mark.e2e

TEMPLATE = {"parts": {"email": {"subject": "Hello {{ name }}", "html": "<p>{{ brand.name }} for {{ name }}</p>"}}}


def test_the_cli_puts_templates_and_brands_and_refuses_what_the_api_would(service, tmp_path):
    company = service.info["company_id"]
    template, brand, broken = tmp_path / "t.json", tmp_path / "b.json", tmp_path / "x.json"
    template.write_text(json.dumps(TEMPLATE))
    brand.write_text(json.dumps({"name": "Dev Brand", "from_email": "brand@dev.example.com"}))
    broken.write_text(json.dumps({"parts": {"sms": {"body": "{{ unclosed"}}}))

    put = service.cli("templates", "put", "welcome", "--company", company, "--file", str(template), "--json")
    branded = service.cli("brands", "put", "dev-brand", "--company", company, "--file", str(brand), "--json")
    refused = service.cli("templates", "put", "broken", "--company", company, "--file", str(broken))

    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["version"] == 1
    assert branded.returncode == 0, branded.stderr
    assert refused.returncode != 0 and "parts.sms.body does not compile" in refused.stderr
    read = service.request("GET", "/v1/templates/welcome", service.info["api_key"])
    assert read.json()["parts"]["email"] == {**TEMPLATE["parts"]["email"], "text": None}


def test_a_hipaa_message_sealed_before_a_restart_is_sent_after_it_and_the_key_regains_its_scopes(tmp_path):
    data_dir = str(tmp_path / "data")
    ports = free_port(), free_port(), free_port()
    process, first = start_dev(*ports, "--data-dir", data_dir)
    try:
        service = LocalService(first)
        key = first["api_key"]
        assert service.request("PUT", "/v1/templates/welcome", key, json=TEMPLATE).status_code == 200
        brand = {"name": "Dev Brand", "from_email": "brand@dev.example.com"}
        assert service.request("PUT", "/v1/brands/dev-brand", key, json=brand).status_code == 200
        secret, recipient = f"PHI-{uuid.uuid4().hex}", f"patient-{uuid.uuid4().hex[:8]}@example.com"
        body = {
            "channel": "email",
            "template_key": "welcome",
            "recipient": recipient,
            "brand_id": "dev-brand",
            "person_id": "p-1",
            "variables": {"name": secret},
            "dedup_key": "k-1",
            "hipaa": True,
            "scheduled_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat(),
        }
        message = service.request("POST", "/v1/messages/schedule", key, json=body)
        assert message.status_code == 201, message.text
        # An older state's key: saved before the messages scopes existed.
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=first["aws_endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        key_item = {"pk": {"S": f"KEY#{key.split('_')[1]}"}, "sk": {"S": "#KEY"}}
        dynamodb.update_item(
            TableName=first["communications_table"],
            Key=key_item,
            UpdateExpression="SET scopes = :s",
            ExpressionAttributeValues={":s": {"L": [{"S": "dispatcher:read"}]}},
        )
        wait_until_saved(first["console_url"])
        process.kill()
        process.wait(timeout=15)

        process, second = start_dev(*ports, "--data-dir", data_dir)
        service = LocalService(second)
        assert service.console_cli("tick", "--json").returncode == 0
        sent = service.request("GET", f"/v1/messages/{message.json()['id']}", key)  # needs messages:read
        outbox = json.loads(service.console_cli("outbox", "--json").stdout)

        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "sent", sent.json()
        assert [entry["subject"] for entry in outbox if recipient in entry["recipient"]] == [f"Hello {secret}"]
        assert stop_dev(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
