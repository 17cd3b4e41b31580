"""The local stack's state on disk, so `scheduled-comms dev` keeps its data across restarts and crashes.

What the stack holds lives in moto's in-process backends (tables and their items, secrets, SES
identities and sent mail, SNS messages, event buses). After every request that changes them, a
snapshot of those backends is pickled to a temporary file, flushed to disk and renamed over the last
one (an atomic replace), so the file is always one whole snapshot. Writes that arrive while a snapshot
is being taken are caught by the next one. A ``kill -9`` therefore loses only the writes answered in the
last moment (``SETTLE_SECONDS`` plus up to five snapshots' time, a snapshot taking about 0.1 s per
1,000 rows and the next waiting ``QUIET_FACTOR`` times as long), never the file. What is not kept: the
voice simulator's list of calls, the authorizer's cache, and ticks in flight (their rows stay leased
and are taken over after the lease, as on AWS).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from scheduled_comms.adapters.dynamodb.items import STORAGE_LAYOUT

SERVICES = ("dynamodb", "secretsmanager", "ses", "sesv2", "sns", "events", "kms")
STATE_FILE = "moto-state.pickle"
DEV_COMPANY_FILE = "dev-company.json"
LOCK_FILE = "lock"
SETTLE_SECONDS = 0.1  # a burst of writes becomes one snapshot
QUIET_FACTOR = 3  # after a snapshot that took t seconds, the next one waits at least 3t
READ_ACTIONS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet")


def _private_key_from_der(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _reduce_private_key(key: Any) -> tuple[Any, tuple[bytes]]:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return _private_key_from_der, (key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),)


@functools.lru_cache(maxsize=1)
def _private_key_types() -> frozenset[type]:
    """The classes of cryptography's RSA and EC private keys (its Rust types have no public import path)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    return frozenset({type(rsa.generate_private_key(65537, 2048)), type(ec.generate_private_key(ec.SECP256R1()))})


def _pickled(state: Any) -> bytes:
    """``state`` pickled; moto's KMS keys hold cryptography's private keys, which pickle as their DER bytes."""
    import copyreg
    import io

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, **dict.fromkeys(_private_key_types(), _reduce_private_key)}
    pickler.dump(state)
    return buffer.getvalue()


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/scheduled-comms/dev``, else ``~/.local/share/scheduled-comms/dev``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "scheduled-comms" / "dev"


class DataDirError(RuntimeError):
    """The data directory cannot be used: another stack holds it, or its state cannot be read."""


class DataDirInUse(DataDirError):
    pass


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether a request to moto may change it: anything but a GET/HEAD or a JSON-protocol read action."""
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return False
    target = environ.get("HTTP_X_AMZ_TARGET")
    return not (target and target.rsplit(".", 1)[-1].startswith(READ_ACTIONS))


class ChangeWatcher:
    """WSGI middleware around moto's app: calls ``on_change`` after each request that may change state."""

    def __init__(self, app: Callable[..., Iterable[bytes]], on_change: Callable[[], None]) -> None:
        self._app = app
        self._on_change = on_change

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return self._app(environ, start_response)
        finally:
            if changes_state(environ):
                self._on_change()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class StateStore:
    """moto's backends in ``directory``: restored once before moto serves, saved after every change.

    ``consistent`` is held while the backends are pickled (moto's DynamoDB lock: no write is half done).
    The directory is locked while a stack uses it, so two stacks never write one state.
    """

    def __init__(self, directory: Path, consistent: Any) -> None:
        self.directory = directory
        self._consistent = consistent
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: IO[str] | None = None
        self._changes = 0  # requests that may have changed moto's state
        self._saved = 0  # of those, how many the file on disk holds
        self._count = threading.Lock()

    @property
    def state_path(self) -> Path:
        return self.directory / STATE_FILE

    @property
    def dev_company_path(self) -> Path:
        return self.directory / DEV_COMPANY_FILE

    def open(self, fresh: bool = False) -> None:
        """Create and lock the directory; with ``fresh``, forget what it held."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / LOCK_FILE, "w")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise DataDirInUse(
                f"data directory {self.directory} is in use by another `scheduled-comms dev`; "
                "choose another with --data-dir"
            ) from None
        if fresh:
            for name in (STATE_FILE, DEV_COMPANY_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()

    def restore(self) -> bool:
        """Put the saved backends in place of moto's empty ones; False when there is nothing saved."""
        try:
            saved = pickle.loads(self.state_path.read_bytes())  # our own file, written by save()
        except FileNotFoundError:
            return False
        except Exception as exc:  # written by another moto version, or damaged by hand
            raise DataDirError(
                f"the state in {self.state_path} cannot be read ({type(exc).__name__}: {exc}); "
                "start with --fresh to begin empty, or choose another --data-dir"
            ) from None
        if not isinstance(saved, dict) or saved.get("storage_layout") != STORAGE_LAYOUT:
            raise DataDirError(
                f"the state in {self.state_path} was saved with another storage layout than this version's "
                f"(layout {STORAGE_LAYOUT}: rows keyed and packed differently); start with --fresh to begin "
                "empty, or choose another --data-dir"
            )
        from moto.backends import get_backend

        for (service, account, region), backend in saved["backends"].items():
            get_backend(service)[account][region] = backend
        return True

    def _collect(self) -> dict[tuple[str, str, str], Any]:
        from moto.backends import get_backend

        return {
            (service, account, region): backend
            for service in SERVICES
            for account, regions in list(get_backend(service).items())  # type: ignore[call-overload]
            for region, backend in list(regions.items())
        }

    def save(self) -> None:
        """One whole snapshot, replacing the last one atomically."""
        for _ in range(10):
            try:
                with self._consistent:
                    with self._count:
                        changes = self._changes
                    state = {"storage_layout": STORAGE_LAYOUT, "backends": self._collect()}
                    data = _pickled(state)
                break
            except RuntimeError:  # another service changed a dict while it was pickled: take it again
                time.sleep(0.01)
        else:
            raise RuntimeError("could not take a consistent snapshot of moto's state")
        _write_atomically(self.state_path, data)
        with self._count:
            self._saved = max(self._saved, changes)

    def changed(self) -> None:
        with self._count:
            self._changes += 1
        self._changed.set()

    def progress(self) -> dict[str, Any]:
        """How far the file on disk is behind: ``saved == changes`` once every answered write is on disk."""
        with self._count:
            return {"data_dir": str(self.directory), "changes": self._changes, "saved": self._saved}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._save_on_change, name="state-snapshots", daemon=True)
        self._thread.start()

    def _save_on_change(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait()
            if self._stopping.wait(SETTLE_SECONDS):
                return  # close() takes the last snapshot
            self._changed.clear()
            began = time.monotonic()
            try:
                self.save()
            except Exception:  # a failed snapshot is retried with the next change; the last file stays whole
                import logging

                logging.getLogger("scheduled_comms_cli").exception("state snapshot failed")
            # Pickling holds the DynamoDB lock and the interpreter: at most a quarter of the time goes to it.
            self._stopping.wait(QUIET_FACTOR * (time.monotonic() - began))

    def load_dev_company(self) -> dict[str, dict[str, str]] | None:
        try:
            return dict(json.loads(self.dev_company_path.read_text()))
        except FileNotFoundError:
            return None

    def save_dev_company(self, company: dict[str, dict[str, str]]) -> None:
        _write_atomically(self.dev_company_path, json.dumps(company, indent=2).encode())

    def close(self) -> None:
        """Stop snapshotting after one last snapshot, and unlock the directory."""
        if self._thread is not None:
            self._stopping.set()
            self._changed.set()
            self._thread.join()
            self._thread = None
            self.save()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
