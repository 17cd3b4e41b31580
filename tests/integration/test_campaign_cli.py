"""`scheduled-comms campaigns list|show`: a company's batch calls, and one's progress."""

from __future__ import annotations

import json
import os

from scheduled_comms_cli.cli import app
from typer.testing import CliRunner

from tests.conftest import PHONE_NUMBER_ID, VOICE_CONFIG_ID


def test_campaigns_are_listed_and_shown_with_their_progress(api, make_company):
    company = make_company(credits=10)
    body = {
        "name": "Renewals CLI",
        "agent_id": VOICE_CONFIG_ID,
        "phone_number_ids": [PHONE_NUMBER_ID],
        "contact_source": "inline",
        "contacts": [{"phone_number": "+14155550100"}, {"phone_number": "+14155550101"}],
    }
    campaign_id = api.request("POST", "/v1/batch-calls", company, json_body=body).json()["data"]["id"]
    table = ["--table", os.environ["COMMUNICATIONS_TABLE"], "--company", company.id]
    runner = CliRunner()

    listed = runner.invoke(app, ["campaigns", "list", *table])
    as_json = runner.invoke(app, ["campaigns", "list", *table, "--json"])
    shown = runner.invoke(app, ["campaigns", "show", campaign_id, *table])
    missing = runner.invoke(app, ["campaigns", "show", "0190a0b0-0000-7000-8000-000000000009", *table])
    bad_status = runner.invoke(app, ["campaigns", "list", *table, "--status", "sleeping"])

    assert listed.exit_code == 0 and campaign_id in listed.stdout and "Renewals CLI" in listed.stdout
    assert [c["id"] for c in json.loads(as_json.stdout)["data"]] == [campaign_id]
    assert shown.exit_code == 0 and "draft" in shown.stdout and "0/2" in shown.stdout and "pending" in shown.stdout
    assert missing.exit_code == 1
    assert bad_status.exit_code == 2
