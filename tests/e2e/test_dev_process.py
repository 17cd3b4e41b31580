"""`scheduled-comms dev` as a process: it stops cleanly on SIGTERM and Ctrl-C, and restarts at once."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import BIN, dev_environment, free_port, start_dev, stop_dev

pytestmark = pytest.mark.e2e


def listening_is_possible(port: int) -> bool:
    """Whether a server could take the port now (SO_REUSEADDR, as servers bind; TIME-WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def leave_in_time_wait(port: int) -> None:
    """A connection on ``port`` that the server end closed first: that end lingers in TIME-WAIT."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()
            assert client.recv(1) == b""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_dev_stops_cleanly_on_a_signal_and_frees_its_ports(signum):
    # Given: a running stack with a keep-alive connection open on its API
    ports = free_port(), free_port(), free_port()
    process, info = start_dev(*ports)
    session = requests.Session()
    assert session.get(info["api_url"] + "/v1/health", timeout=10).status_code == 200

    # When
    process.send_signal(signum)

    # Then: it exits with status 0 (the timeout is a safety net, not a speed check) and the ports are free
    try:
        status = process.wait(timeout=15)
    finally:
        session.close()
        if process.poll() is None:
            process.kill()
    assert status == 0
    assert all(listening_is_possible(port) for port in ports)


def test_dev_restarts_while_the_last_runs_connections_linger_in_time_wait():
    # Given: every port holds a connection in TIME-WAIT, as after a stop; a plain bind is refused
    ports = free_port(), free_port(), free_port()
    for port in ports:
        leave_in_time_wait(port)
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))

    # When
    process, info = start_dev(*ports)

    # Then
    try:
        assert requests.get(info["api_url"] + "/v1/health", timeout=10).status_code == 200
    finally:
        assert stop_dev(process) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_dev_stops_cleanly_on_a_signal_that_arrives_while_it_starts(signum, tmp_path):
    # Given: a stack whose moto already listens but which has not finished starting (no settings printed)
    ports = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            *(str(BIN / "scheduled-comms"), "dev", "--api-port", str(ports[0]), "--aws-port", str(ports[1])),
            *("--console-port", str(ports[2]), "--tick-interval", "0", "--json", "--data-dir", str(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dev_environment(),
    )
    try:
        while listening_is_possible(ports[1]):
            assert process.poll() is None, "dev exited before it listened"
            time.sleep(0.02)

        # When
        process.send_signal(signum)

        # Then: it finishes starting, stops, and exits with status 0
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == 0
    assert all(listening_is_possible(port) for port in ports)


@pytest.mark.parametrize("taken", ["--api-port", "--aws-port", "--console-port"])
def test_a_taken_port_is_reported_with_its_own_option(taken, tmp_path):
    # Given: one of the three ports has a server listening on it
    ports = {"--api-port": free_port(), "--aws-port": free_port(), "--console-port": free_port()}
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", ports[taken]))
        occupant.listen()

        # When
        result = subprocess.run(
            [
                *(str(BIN / "scheduled-comms"), "dev", "--data-dir", str(tmp_path)),
                *(str(part) for pair in ports.items() for part in pair),
            ],
            capture_output=True,
            text=True,
            env=dev_environment(),
            timeout=60,
            check=False,
        )

    # Then
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"port {ports[taken]}" in message
    assert taken in message
    assert not {"--api-port", "--aws-port", "--console-port"} - {taken} & set(message.split())
