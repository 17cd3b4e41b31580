"""`scheduled-comms dev` keeps its state in a data directory: a kill -9 and a restart lose nothing saved."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.e2e.conftest import BIN, dev_environment, free_port, start_dev, stop_dev

pytestmark = pytest.mark.e2e

COLLECTION = "/v1/scheduled-communications"


def wait_until_saved(console_url: str) -> None:
    """Until the file on disk holds every write answered so far (the console reports its progress)."""
    deadline = time.monotonic() + 30
    while True:
        progress = requests.get(console_url + "/state", timeout=10).json()
        if progress["saved"] >= progress["changes"]:
            return
        assert time.monotonic() < deadline, f"state never saved: {progress}"
        time.sleep(0.05)


def test_state_survives_kill_9_and_fresh_starts_empty(tmp_path):
    # Given: a stack on a data directory, with rows created through the API and a page cursor taken
    data_dir = str(tmp_path / "data")
    ports = free_port(), free_port(), free_port()
    process, first = start_dev(*ports, "--data-dir", data_dir)
    try:
        key = {"Authorization": f"Bearer {first['api_key']}"}
        when = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT10:00:00Z")
        ids = []
        for _ in range(3):
            body = {
                "channel": "email",
                "scheduled_for": when,
                "payload": {"to_email": "client@example.com", "subject": str(uuid.uuid4()), "html_body": "<p>Hi</p>"},
            }
            reply = requests.post(first["api_url"] + COLLECTION, json=body, headers=key, timeout=30)
            assert reply.status_code == 201, reply.text
            ids.append(reply.json()["data"]["id"])
        page = requests.get(first["api_url"] + COLLECTION, params={"limit": 1}, headers=key, timeout=30).json()
        wait_until_saved(first["console_url"])

        # When: the process is killed without a chance to save anything more, and started again
        process.kill()
        process.wait(timeout=15)
        process, second = start_dev(*ports, "--data-dir", data_dir)

        # Then: the same company and key, the rows, the credits spent, and the cursor still valid
        assert (second["company_id"], second["api_key"]) == (first["company_id"], first["api_key"])
        listed = requests.get(second["api_url"] + COLLECTION, headers=key, timeout=30)
        assert listed.status_code == 200
        assert sorted(row["id"] for row in listed.json()["data"]) == sorted(ids)
        assert listed.json()["meta"]["credits_remaining"] == page["meta"]["credits_remaining"]
        after_cursor = requests.get(
            second["api_url"] + COLLECTION,
            params={"limit": 1, "cursor": page["meta"]["next_cursor"]},
            headers=key,
            timeout=30,
        )
        assert after_cursor.status_code == 200, after_cursor.text
        second_page = after_cursor.json()["data"][0]["id"]
        assert second_page in ids
        assert second_page != page["data"][0]["id"]
        assert stop_dev(process) == 0

        # When: it starts with --fresh
        process, fresh = start_dev(*ports, "--data-dir", data_dir, "--fresh")

        # Then: a new company and key; the old key and its rows are gone
        assert fresh["api_key"] != first["api_key"]
        assert requests.get(fresh["api_url"] + COLLECTION, headers=key, timeout=30).status_code == 401
        own = requests.get(fresh["api_url"] + COLLECTION, headers={"Authorization": f"Bearer {fresh['api_key']}"})
        assert own.status_code == 200
        assert own.json()["data"] == []
    finally:
        stop_dev(process)


def refused_start(data_dir) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(str(BIN / "scheduled-comms"), "dev", "--data-dir", str(data_dir), "--tick-interval", "0"),
            *("--api-port", str(free_port()), "--aws-port", str(free_port()), "--console-port", str(free_port())),
        ],
        capture_output=True,
        text=True,
        env=dev_environment(),
        timeout=60,
        check=False,
    )


def test_a_state_it_cannot_read_is_refused_and_left_alone(tmp_path):
    # Given: a data directory whose state file is not one this stack wrote
    state = tmp_path / "moto-state.pickle"
    state.write_bytes(b"not a snapshot")

    # When
    result = refused_start(tmp_path)

    # Then: it stops, says how to start empty, and the file is as it was
    assert result.returncode == 1
    assert "--fresh" in " ".join(result.stderr.split())
    assert state.read_bytes() == b"not a snapshot"


def test_a_state_saved_with_another_storage_layout_is_refused(tmp_path):
    """Rows saved before the items were keyed and packed as now would be invisible: say so instead."""
    import pickle

    # Given: a snapshot as the stack saved it before its storage layout was recorded
    state = tmp_path / "moto-state.pickle"
    state.write_bytes(pickle.dumps({}))

    # When
    result = refused_start(tmp_path)

    # Then
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "storage layout" in message and "--fresh" in message
