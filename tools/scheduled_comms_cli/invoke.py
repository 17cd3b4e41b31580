"""``scheduled-comms invoke``: one function's handler run in this process against the local stack, with an
event file, as ``sam local invoke -e`` runs it in a container (no Docker needed).

Every function of template.yaml has a sample event, ``events/<its CodeUri directory>.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.template import PROJECT_ROOT, Stack

EVENTS_DIR = PROJECT_ROOT / "events"


def function_ids(stack: Stack) -> dict[str, str]:
    """Each function's logical id, under its own name and under its directory's (``TickFunction``, ``tick``)."""
    found = {}
    for logical_id, resource in stack.resources("AWS::Serverless::Function").items():
        found[logical_id] = logical_id
        found[Path(resource["Properties"]["CodeUri"]).name] = logical_id
    return found


def sample_event_path(stack: Stack, logical_id: str) -> Path:
    code_uri = stack.resources("AWS::Serverless::Function")[logical_id]["Properties"]["CodeUri"]
    return EVENTS_DIR / f"{Path(code_uri).name}.json"


def invoke(host: FunctionHost, logical_id: str, event: Any) -> tuple[bool, Any]:
    """The handler's response, or Lambda's error object for what it raised; and whether it returned."""
    try:
        return True, host.invoke(logical_id, event)
    except Exception as exc:  # Lambda reports an unhandled error as this object; so does `sam local invoke`
        return False, {"errorMessage": str(exc), "errorType": type(exc).__name__}
