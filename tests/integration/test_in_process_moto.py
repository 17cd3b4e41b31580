"""moto as the local stack serves it: this process's boto3 is answered in-process, other processes over the port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.httpsession
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from scheduled_comms_cli.local_stack import LOCAL_CREDENTIALS, MotoServer

READ_BACK = """
import boto3, json, sys
client = boto3.client("dynamodb", endpoint_url=sys.argv[1])
item = client.get_item(TableName=sys.argv[2], Key={"id": {"S": "one"}}, ConsistentRead=True)["Item"]
print(json.dumps(item))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = MotoServer(port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_this_process_is_answered_without_a_socket_and_another_through_the_port(moto_server, monkeypatch):
    # Given: a client made after the server started, in a process where no HTTP connection may be opened
    client = boto3.session.Session().client("dynamodb", endpoint_url=moto_server)

    def no_socket(*_: object, **__: object) -> None:
        raise AssertionError("a request of this process went over the socket")

    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", no_socket)
    table = f"inproc-{uuid.uuid4().hex[:8]}"

    # When: this process writes, and another process reads through the port
    create_table(client, table)
    client.put_item(TableName=table, Item={"id": {"S": "one"}, "n": {"N": "7"}})
    other = subprocess.run(
        [sys.executable, "-c", READ_BACK, moto_server, table], capture_output=True, text=True, timeout=60, check=True
    )

    # Then: both saw the same moto
    assert json.loads(other.stdout) == {"id": {"S": "one"}, "n": {"N": "7"}}
    assert client.get_item(TableName=table, Key={"id": {"S": "one"}})["Item"]["n"] == {"N": "7"}


def test_a_stopped_server_answers_no_one(monkeypatch):
    # Given: a client of a server that then stops
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = MotoServer(port).start()
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{port}", config=Config(retries={"max_attempts": 1})
    )
    client.list_tables()

    # When
    server.stop()

    # Then: not even this process is answered any more
    with pytest.raises(EndpointConnectionError):
        client.list_tables()
