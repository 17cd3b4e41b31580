"""``scheduled-comms invoke`` against a running local stack, as a developer runs it instead of
``sam local invoke``: the handler in-process, the stack's data, the response on stdout."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from scheduled_comms_cli.invoke import EVENTS_DIR

from tests.e2e.conftest import BIN, free_port


def invoke(service, *args: str):
    return service.cli("invoke", *args, "--api-port", str(urlsplit(service.url).port))


def test_invoke_runs_a_handler_on_the_local_stacks_data(service, tmp_path):
    key = service.info["api_key"]
    body = {
        "channel": "email",
        "scheduled_for": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        "payload": {"to_email": "client@example.com", "subject": "Hi", "html_body": "<p>Hi</p>"},
    }
    row = service.request("POST", "/v1/scheduled-communications", key, json=body).json()["data"]
    event = json.loads((EVENTS_DIR / "get_communication.json").read_text())
    event["path"] = event["path"].replace(event["pathParameters"]["id"], row["id"])
    event["pathParameters"]["id"] = row["id"]
    event["requestContext"]["authorizer"]["company_id"] = service.info["company_id"]
    (tmp_path / "get.json").write_text(json.dumps(event))

    result = invoke(service, "GetCommunicationFunction", "--event", str(tmp_path / "get.json"))

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["data"] == row


def test_invoke_takes_the_functions_own_sample_event_by_default(service):
    result = invoke(service, "health")

    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["body"])["status"] == "ok"


def test_invoke_runs_a_tick_and_prints_its_summary_alone(service, tmp_path):
    # The sample tick runs as of a fixed time; this stack's other rows are due by now at the latest.
    event = json.loads((EVENTS_DIR / "tick.json").read_text())
    event["time"] = datetime.now(UTC).isoformat()
    (tmp_path / "tick.json").write_text(json.dumps(event))

    result = invoke(service, "TickFunction", "-e", str(tmp_path / "tick.json"))

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout holds the response alone: the logs went to stderr
    assert summary["workers"] >= 1 and summary["refused"] == 0
    assert sorted(shard for group in summary["slices"] for shard in group) == list(range(8))


def test_invoke_runs_a_dispatch_worker_over_its_slice_and_prints_its_summary_alone(service, tmp_path):
    event = json.loads((EVENTS_DIR / "dispatch_worker.json").read_text())
    record = event["Records"][0]
    record["body"] = json.dumps({**json.loads(record["body"]), "at": datetime.now(UTC).isoformat()})
    record["attributes"]["SentTimestamp"] = str(int(datetime.now(UTC).timestamp() * 1000))
    (tmp_path / "worker.json").write_text(json.dumps(event))

    result = invoke(service, "dispatch_worker", "-e", str(tmp_path / "worker.json"))

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["passes"] == 1
    assert {"claimed", "dispatched", "retried", "failed", "skipped", "held"} <= set(summary)


def test_invoke_prints_lambdas_error_object_for_a_handler_that_raises(service):
    result = invoke(service, "AuthorizerFunction")  # the sample's key is not one of the stack's

    assert result.returncode == 1
    assert json.loads(result.stdout) == {"errorMessage": "Unauthorized", "errorType": "Exception"}


def test_invoke_names_the_functions_it_knows(service):
    result = invoke(service, "NoSuchFunction")

    assert result.returncode == 2
    assert "no function NoSuchFunction" in result.stderr and "TickFunction" in result.stderr


def test_invoke_without_a_local_stack_says_so():
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}

    result = subprocess.run(
        [str(BIN / "scheduled-comms"), "invoke", "health"], capture_output=True, text=True, env=env, timeout=30
    )

    assert result.returncode == 1
    assert "no local stack at" in result.stderr and result.stdout == ""
