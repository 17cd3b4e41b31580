"""The local stack, started as a newcomer would (`scheduled-comms dev`), in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalService:
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.url = info["api_url"]
        self.session = requests.Session()

    def request(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def console_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli(*args, "--console", self.info["console_url"])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.info["aws_endpoint_url"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env.pop("COMMUNICATIONS_TABLE", None)
        return subprocess.run(
            [str(BIN / "scheduled-comms"), *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )


def dev_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COMMUNICATIONS_", "POWERTOOLS_"))}


def start_dev(
    api_port: int, aws_port: int, console_port: int, *extra: str
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`scheduled-comms dev` in a subprocess, once its API answers; its printed settings.

    Each start gets a data directory of its own unless ``extra`` names one.
    """
    if "--data-dir" not in extra:
        extra = (*extra, "--data-dir", tempfile.mkdtemp(prefix="scheduled-comms-dev-"))
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - the process writes to it for as long as it runs
    process = subprocess.Popen(
        [
            str(BIN / "scheduled-comms"),
            "dev",
            "--api-port",
            str(api_port),
            "--aws-port",
            str(aws_port),
            "--console-port",
            str(console_port),
            "--tick-interval",
            "0",
            "--json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=dev_environment(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=30)
        errors.seek(0)
        raise RuntimeError(f"local stack did not start: {errors.read()}")
    info = json.loads(line)
    deadline = time.monotonic() + 30
    while requests.get(f"{info['api_url']}/v1/health", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "health never answered 200"
        time.sleep(0.2)
    return process, info


def stop_dev(process: subprocess.Popen[str]) -> int:
    process.terminate()
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="session")
def service() -> Iterator[LocalService]:
    process, info = start_dev(free_port(), free_port(), free_port())
    try:
        yield LocalService(info)
    finally:
        stop_dev(process)
