"""What a function's cold start imports: only what the function uses (a behaviour test, not a timing test).

Each handler is imported as Lambda imports it: in a fresh interpreter, with its environment as deployed
(the template's variables and the runtime's, so the tracer is on unless the template turns it off). What the
function uses on every request is imported then, not on its first request, so that the cold-import benchmark
cannot be flattered by deferring it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from scheduled_comms_local.template import Stack

# Modules worth a cold start only where they are used.
WATCHED = (
    "phonenumbers",  # E.164 checks: on first use, by the requests that carry a number
    "email_validator",  # likewise for addresses
    "pydantic_settings",  # no longer a dependency: settings are a plain pydantic model
    "jinja2",  # templates: only the routes that compile or render them
    "aws_xray_sdk",  # the tracer, where a trace pays
    "botocore.session",  # the AWS clients, for every function that calls AWS (Powertools imports bare `botocore`)
    "boto3",  # not used: botocore's clients are all the functions need
    "aws_lambda_powertools.utilities.parameters",  # not used: it imports boto3 (secrets have their own cache)
    "aws_lambda_powertools.event_handler",  # the REST resolver
    "aws_lambda_powertools.utilities.idempotency",  # not used: a create holds its key in its own write
    "scheduled_comms.adapters.senders",
    "scheduled_comms.logic.dispatch.engine",
    "scheduled_comms.logic.dispatch.cadence",  # the voice cadence, shared by the tick and the webhook
)
ROUTE = {"botocore.session", "aws_lambda_powertools.event_handler"}
EXPECTED = {
    # Plain handlers: nothing to call and nothing to validate.
    "HealthFunction": set(),
    "DocsFunction": set(),
    "MethodNotAllowedFunction": set(),
    "AuthorizerFunction": {"botocore.session"},
    "TickFunction": {"botocore.session", "aws_xray_sdk"},  # it counts and hands out: no engine, no senders
    "DispatchWorkerFunction": {
        "botocore.session",
        "aws_xray_sdk",
        "scheduled_comms.adapters.senders",
        "scheduled_comms.logic.dispatch.engine",
        "scheduled_comms.logic.dispatch.cadence",
    },
    "PublishTransitionsFunction": {"botocore.session", "aws_xray_sdk"},
    "PlanBatchCallsFunction": {"botocore.session", "aws_xray_sdk"},
    "SesFeedbackFunction": {"botocore.session"},
    "VoiceWebhookFunction": ROUTE | {"scheduled_comms.logic.dispatch.cadence"},  # not the engine
    "PutTemplateFunction": ROUTE | {"jinja2"},
    "ScheduleMessageFunction": ROUTE | {"jinja2"},
}
IMPORT_HANDLER = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, set[str]]:
    """Each function's modules after its handler is imported, in a fresh interpreter of its own."""
    stack = Stack("scheduled-comms")

    def cold_start(logical_id: str) -> set[str]:
        path, _ = stack.handler_file(logical_id)
        env = {"PATH": os.environ["PATH"], **stack.runtime_environment(logical_id)}
        result = subprocess.run(
            [sys.executable, "-I", "-c", IMPORT_HANDLER, str(path.parent)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return set(json.loads(result.stdout))

    functions = sorted(stack.resources("AWS::Serverless::Function"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(functions, pool.map(cold_start, functions), strict=True))


def test_every_function_is_checked(imported):
    assert set(EXPECTED) <= set(imported) and len(imported) >= 19


@pytest.mark.parametrize("function", sorted(Stack("scheduled-comms").resources("AWS::Serverless::Function")))
def test_a_cold_start_imports_only_what_the_function_uses(imported, function):
    watched = {name for name in WATCHED if name in imported[function]}

    assert watched == EXPECTED.get(function, ROUTE)


def test_a_route_imports_only_the_adapters_it_builds(imported):
    rows_only = imported["CancelCommunicationFunction"]

    assert "scheduled_comms.composition.stores" in rows_only
    assert "scheduled_comms.composition.company" not in rows_only
    assert "scheduled_comms.composition.secrets" not in rows_only
    assert "scheduled_comms.adapters.directory" not in rows_only
    assert "scheduled_comms.models.registry" not in rows_only
