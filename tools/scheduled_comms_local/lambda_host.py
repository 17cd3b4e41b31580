"""Lambda's part, locally: each function's handler loaded from its CodeUri and invoked with a context."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from scheduled_comms_local.template import Stack


@dataclass
class LambdaContext:
    """What Powertools reads of the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 10
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


class FunctionHost:
    """Loads each function's handler module from its CodeUri, as the Lambda runtime would.

    Like Lambda, an execution environment (a loaded module) serves one invocation at a time;
    concurrent invocations get environments of their own, kept warm for reuse.
    """

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._idle: dict[str, list[ModuleType]] = {}
        self._lock = threading.Lock()

    def _load(self, logical_id: str) -> ModuleType:
        path, _ = self._stack.handler_file(logical_id)
        spec = importlib.util.spec_from_file_location(f"functions_{logical_id}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def _acquire(self, logical_id: str) -> ModuleType:
        with self._lock:
            idle = self._idle.setdefault(logical_id, [])
            if idle:
                return idle.pop()
        return self._load(logical_id)

    def _release(self, logical_id: str, module: ModuleType) -> None:
        with self._lock:
            self._idle[logical_id].append(module)

    def module(self, logical_id: str) -> ModuleType:
        """A loaded instance of the function's module (for inspection)."""
        module = self._acquire(logical_id)
        self._release(logical_id, module)
        return module

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        _, attribute = self._stack.handler_file(logical_id)
        module = self._acquire(logical_id)
        try:
            context = LambdaContext(
                function_name=self._stack.physical_name(logical_id),
                memory_limit_in_mb=int(self._stack.function_setting(logical_id, "MemorySize", 128)),
                timeout_seconds=int(self._stack.function_setting(logical_id, "Timeout", 3)),
            )
            return getattr(module, attribute)(event, context)
        finally:
            self._release(logical_id, module)


def scheduled_event(at: datetime, single_pass: bool = False) -> dict[str, Any]:
    """The event an EventBridge schedule delivers; the tick takes ``time`` as its now."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not at.microsecond
        else at.astimezone(UTC).isoformat(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/local-tick"],
        "detail": {"single_pass": True} if single_pass else {},
    }
