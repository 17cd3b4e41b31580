"""``scheduled-comms``: run the service locally and administer companies, API keys and credits."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console

app = typer.Typer(help="Scheduled communications: local stack and administration.", no_args_is_help=True)
keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
credits_app = typer.Typer(help="Company credit balances.", no_args_is_help=True)
app.add_typer(keys_app, name="api-keys")
app.add_typer(credits_app, name="credits")
err = Console(stderr=True)

LOCAL_STACK_NAME = "scheduled-comms-local"
TableOption = Annotated[
    str | None,
    typer.Option(
        "--table",
        envvar="COMMUNICATIONS_TABLE",
        help="Communications table name (default: from --stack outputs, else the local stack's table).",
    ),
]
StackOption = Annotated[str | None, typer.Option("--stack", help="CloudFormation stack to read table names from.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_REGION = "us-east-1"  # where `scheduled-comms dev` creates its resources


def is_local_endpoint(endpoint_url: str | None) -> bool:
    """Whether AWS_ENDPOINT_URL names a stand-in on this machine (the local stack), not AWS."""
    if not endpoint_url:
        return False
    try:
        return urlsplit(endpoint_url).hostname in LOCAL_HOSTS
    except ValueError:
        return False


def apply_local_endpoint_defaults(environ: MutableMapping[str, str]) -> None:
    """Against a local endpoint, a region and dummy credentials unless given; against AWS, nothing.

    moto accepts any credentials, so a developer's real ones are never needed (nor sent) locally.
    """
    if not is_local_endpoint(environ.get("AWS_ENDPOINT_URL")):
        return
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
    if not (environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE")):
        environ["AWS_ACCESS_KEY_ID"] = "testing"
        environ["AWS_SECRET_ACCESS_KEY"] = "testing"
        environ.pop("AWS_SESSION_TOKEN", None)


@app.callback()
def _defaults() -> None:
    apply_local_endpoint_defaults(os.environ)


def _table_name(table: str | None, stack: str | None) -> str:
    if table:
        return table
    if stack:
        from scheduled_comms.adapters.aws import client

        outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        for output in outputs:
            if output["OutputKey"] == "CommunicationsTableName":
                return str(output["OutputValue"])
        raise typer.BadParameter(f"stack {stack} has no CommunicationsTableName output", param_hint="--stack")
    if os.environ.get("AWS_ENDPOINT_URL"):
        from scheduled_comms_local.template import Stack

        return Stack(LOCAL_STACK_NAME).physical_name("CommunicationsTable")
    raise typer.BadParameter("give --table or --stack (or set AWS_ENDPOINT_URL for the local stack)")


def _company_id(company: str) -> str:
    """The --company option as a company id, or the CLI's own error naming the option."""
    from scheduled_comms.models.values import check_uuid

    try:
        return check_uuid(company)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--company") from None


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if as_json else text)


@keys_app.command("create")
def create_key(
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated scopes.")],
    name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the key itself is printed once, as the last line."""
    from scheduled_comms.adapters.dynamodb.api_keys import DynamoApiKeyStore
    from scheduled_comms.errors import ValidationFailed
    from scheduled_comms.logic.auth import issue_api_key, parse_scopes
    from scheduled_comms.models.domain import now_utc

    company_id = _company_id(company)
    try:
        scope_list = parse_scopes(scopes)
    except (ValueError, ValidationFailed) as exc:
        raise typer.BadParameter(str(exc)) from None
    record, api_key = issue_api_key(
        DynamoApiKeyStore(_table_name(table, stack)), company_id, scope_list, now_utc(), name
    )
    if as_json:
        print(
            json.dumps(
                {"key_id": record.key_id, "company_id": company_id, "scopes": list(scope_list), "api_key": api_key}
            )
        )
    else:
        err.print(f"key id {record.key_id} for company {company_id}, scopes {', '.join(scope_list)}")
        print(api_key)


@keys_app.command("revoke")
def revoke_key(
    key: Annotated[str, typer.Argument(help="The key id, or the API key itself.")],
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key (takes effect once the authorizer cache expires on AWS)."""
    from scheduled_comms.adapters.dynamodb.api_keys import DynamoApiKeyStore
    from scheduled_comms.errors import NotFound
    from scheduled_comms.models.domain import now_utc

    key_id = key.split("_")[1] if key.startswith("sck_") and key.count("_") >= 2 else key
    try:
        DynamoApiKeyStore(_table_name(table, stack)).revoke(key_id, now_utc())
    except NotFound:
        err.print(f"no API key {key_id}")
        raise typer.Exit(1) from None
    _emit(as_json, {"key_id": key_id, "revoked": True}, f"revoked {key_id}")


@credits_app.command("grant")
def grant_credits(
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    amount: Annotated[int, typer.Option("--amount", min=1, max=10_000_000, help="Credits to add.")],
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add credits to a company's balance (creating the company record if needed)."""
    from scheduled_comms.adapters.dynamodb.credits import DynamoCreditLedger
    from scheduled_comms.models.domain import now_utc

    company_id = _company_id(company)
    balance = DynamoCreditLedger(_table_name(table, stack)).grant(company_id, amount, now_utc())
    _emit(as_json, {"company_id": company_id, "credits": balance}, f"company {company_id} now has {balance} credits")


campaigns_app = typer.Typer(help="Batch calls (campaigns).", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")


@campaigns_app.command("list")
def list_campaigns(
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    status: Annotated[str | None, typer.Option("--status", help="Only campaigns in this status.")] = None,
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """A company's batch calls, newest first (up to 100)."""
    from scheduled_comms.adapters.dynamodb.campaigns import DynamoCampaignStore
    from scheduled_comms.models.campaign_api import CampaignOut
    from scheduled_comms.models.campaigns import CampaignStatus

    try:
        wanted = CampaignStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter(f"must be one of: {', '.join(CampaignStatus)}", param_hint="--status") from None
    found, _ = DynamoCampaignStore(_table_name(table, stack)).list_campaigns(_company_id(company), wanted, 100, None)
    lines = [f"{c.id}  {c.status.value:<10}  {c.contacts_total:>7} contacts  {c.name}" for c in found]
    _emit(
        as_json,
        {"data": [CampaignOut.of(c).model_dump(mode="json") for c in found]},
        "\n".join(lines) or "no batch calls",
    )


@campaigns_app.command("show")
def show_campaign(
    campaign_id: Annotated[str, typer.Argument(help="The batch call's id.")],
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """A batch call's settings and its progress: contacts by status, drawn as a bar."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn
    from scheduled_comms.adapters.dynamodb.campaigns import DynamoCampaignStore
    from scheduled_comms.models.campaign_api import CampaignOut
    from scheduled_comms.models.campaigns import TERMINAL_CONTACT_STATUSES

    found = DynamoCampaignStore(_table_name(table, stack)).get(_company_id(company), campaign_id, consistent=True)
    if found is None:
        print(f"no batch call {campaign_id} for company {company}", file=sys.stderr)
        raise typer.Exit(1)
    out = CampaignOut.of(found)
    if as_json:
        _emit(True, {"data": out.model_dump(mode="json")}, "")
        return
    console = Console()
    settings = found.settings
    console.print(f"[bold]{found.name}[/bold]  {found.id}  [cyan]{found.status.value}[/cyan]")
    console.print(
        f"{settings.timezone} {settings.start_time}-{settings.end_time} days {settings.working_days}, "
        f"{settings.max_calls_per_day} a day, {settings.max_concurrent_calls} at once"
    )
    done = sum(found.counts.get(status, 0) for status in TERMINAL_CONTACT_STATUSES)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), console=console
    ) as bar:
        bar.add_task("finished", total=max(1, found.contacts_total), completed=done)
    for status, count in out.contacts.by_status.items():
        if count:
            console.print(f"  {status.value:<12} {count}")
    console.print(f"credits reserved {found.credits_reserved}, returned {found.credits_returned}")


ConsoleOption = Annotated[
    str,
    typer.Option("--console", envvar="SCHEDULED_COMMS_CONSOLE", help="URL of the local stack's dev console."),
]
voice_app = typer.Typer(help="The local voice-provider simulator.", no_args_is_help=True)
app.add_typer(voice_app, name="voice-sim")


def _console(console: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(
        console.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        err.print(f"[red]{exc.code}: {exc.read().decode(errors='replace')}[/red]")
        raise typer.Exit(1) from None
    except urllib.error.URLError as exc:
        err.print(f"[red]no local stack at {console} ({exc.reason}); start it with `scheduled-comms dev`[/red]")
        raise typer.Exit(1) from None


senders_app = typer.Typer(help="Company sender settings.", no_args_is_help=True)
app.add_typer(senders_app, name="senders")


@senders_app.command("set")
def set_sender(
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    from_email: Annotated[
        str, typer.Option("--from-email", help="Default sender for email rows without payload.from_email.")
    ],
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a company's default sender address (verify its domain in SES first)."""
    from pydantic import ValidationError
    from scheduled_comms.adapters.directory import DynamoDirectory
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.registry import SenderSettings

    company_id = _company_id(company)
    try:
        settings = SenderSettings(default_from_email=from_email)
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(str(exc)) from None
    DynamoDirectory(_table_name(table, stack)).put_sender_settings(company_id, settings, now_utc())
    _emit(as_json, {"company_id": company_id, **settings.model_dump()}, f"{company_id} sends as {from_email}")


templates_app = typer.Typer(help="Message templates (spec 002).", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
brands_app = typer.Typer(help="Brands of templated messages (spec 002).", no_args_is_help=True)
app.add_typer(brands_app, name="brands")
FileOption = Annotated[Path, typer.Option("--file", help="A JSON file: the body of the API's PUT.", exists=True)]


@contextmanager
def _as_administrator(company: str, table: str | None, stack: str | None) -> Iterator[tuple[Any, Any]]:
    """The directory and a caller with every scope of the company; what the API would refuse (a model's or the
    logic's field errors) is refused here with the same errors, naming ``--file``."""
    from pydantic import ValidationError
    from scheduled_comms.adapters.directory import DynamoDirectory
    from scheduled_comms.errors import ServiceError, field_errors
    from scheduled_comms.logic.auth import ALL_SCOPES
    from scheduled_comms.models.domain import Caller

    company_id = _company_id(company)
    try:
        yield DynamoDirectory(_table_name(table, stack)), Caller(company_id, frozenset(ALL_SCOPES), "cli")
    except ValidationError as exc:
        problems = "; ".join(f"{p.field} {p.message}" for p in field_errors(exc.errors()))
        raise typer.BadParameter(problems, param_hint="--file") from None
    except ServiceError as exc:
        problems = "; ".join(f"{p.field} {p.message}" for p in exc.details) or exc.message
        raise typer.BadParameter(problems, param_hint="--file") from None


@templates_app.command("put")
def put_template_command(
    key: Annotated[str, typer.Argument(help="The template's key.")],
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    file: FileOption,
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a template's next version from a JSON file ({"parts": {...}, "variables_schema"?, "phi_safe"?})."""
    from scheduled_comms.logic.messages import put_template
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.templates import TemplateDefinition

    with _as_administrator(company, table, stack) as (catalog, caller):
        definition = TemplateDefinition.model_validate_json(file.read_bytes())
        stored = put_template(catalog, caller, key, definition, now_utc())
    _emit(as_json, stored.model_dump(mode="json"), f"template {stored.key} is now version {stored.version}")


@brands_app.command("put")
def put_brand_command(
    brand_id: Annotated[str, typer.Argument(help="The brand's id.")],
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    file: FileOption,
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a brand from a JSON file ({"name", "from_email"?, "reply_to"?, "phone_number_id"?, "variables"?,
    "push_apps"?}); push applications must be the stack's (named <stack>-...), as the API requires."""
    from scheduled_comms.logic.messages import put_brand
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.messages import BrandPut

    request = BrandPut.model_validate_json(file.read_bytes())
    with _as_administrator(company, table, stack) as (catalog, caller):
        prefix = f"{stack}-" if stack else ""
        brand = put_brand(catalog, caller, brand_id, request, now_utc(), prefix)
    _emit(as_json, brand.model_dump(mode="json"), f"brand {brand.id} ({brand.name}) is set")


delivery_app = typer.Typer(help="Company delivery settings.", no_args_is_help=True)
app.add_typer(delivery_app, name="delivery")


@delivery_app.command("set")
def set_delivery(
    company: Annotated[str, typer.Option("--company", help="Company id (uuid).")],
    mode: Annotated[
        str, typer.Option("--mode", help="at_least_once or at_most_once, for rows created without delivery.")
    ],
    table: TableOption = None,
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a company's default delivery mode (rows that give ``delivery`` keep their own)."""
    from scheduled_comms.adapters.directory import DynamoDirectory
    from scheduled_comms.models.domain import Delivery, now_utc

    company_id = _company_id(company)
    try:
        delivery = Delivery(mode)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    DynamoDirectory(_table_name(table, stack)).put_default_delivery(company_id, delivery, now_utc())
    _emit(as_json, {"company_id": company_id, "default_delivery": delivery.value}, f"{company_id} delivers {delivery}")


@app.command()
def dev(
    api_port: Annotated[int, typer.Option("--api-port", help="Port of the HTTP API.")] = 3000,
    aws_port: Annotated[int, typer.Option("--aws-port", help="Port of moto's server (the local AWS).")] = 4566,
    console_port: Annotated[
        int, typer.Option("--console-port", help="Port of the dev console and voice simulator.")
    ] = 4570,
    tick_interval: Annotated[
        float, typer.Option("--tick-interval", min=0, help="Seconds between ticks (0: only `scheduled-comms tick`).")
    ] = 60,
    voice_outcome: Annotated[
        str | None,
        typer.Option(
            "--voice-outcome", help="End every simulated call this way: no_answer, voicemail or conversation:SECONDS."
        ),
    ] = None,
    campaign_outcomes: Annotated[
        str | None,
        typer.Option(
            "--campaign-outcomes",
            help="End batch calls' calls by a mix, e.g. conversation:120=50,no_answer=30,voicemail=15,busy=5.",
        ),
    ] = None,
    credits: Annotated[int, typer.Option("--credits", help="Credits of the dev company.")] = 50_000,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the functions' logs.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the stack keeps its state across restarts (default ~/.local/share/scheduled-comms/dev).",
        ),
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start empty: forget the data directory's state.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the whole service on this machine: moto as AWS, the API on 127.0.0.1, the tick, a dev company."""
    from scheduled_comms_cli.local_stack import LocalStack, PortInUse
    from scheduled_comms_cli.persistence import DataDirError, default_data_dir

    stack = LocalStack(
        api_port=api_port,
        aws_port=aws_port,
        console_port=console_port,
        tick_interval=tick_interval,
        verbose=verbose,
        data_dir=data_dir or default_data_dir(),
        fresh=fresh,
    )
    # SIGTERM and Ctrl-C (SIGINT) both ask for a clean stop, even one that arrives while starting.
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        dev_company = stack.start(credits=credits)
    except (PortInUse, DataDirError) as exc:
        err.print(f"[red]{exc}[/red]")
        stack.stop()
        raise typer.Exit(1) from None
    if voice_outcome:
        outcome, _, seconds = voice_outcome.partition(":")
        stack.simulator.auto_outcome = (outcome, float(seconds or 0))
    if campaign_outcomes:
        from scheduled_comms_cli.voice_simulator import OutcomeMix

        try:
            stack.simulator.campaign_outcomes = OutcomeMix.parse(campaign_outcomes)
        except ValueError as exc:
            err.print(f"[red]--campaign-outcomes: {exc}[/red]")
            stack.stop()
            raise typer.Exit(2) from None
    info = {
        "api_url": stack.api_url,
        "aws_endpoint_url": stack.aws_endpoint_url,
        "console_url": stack.console_url,
        "communications_table": stack.stack.physical_name("CommunicationsTable"),
        "tick_interval_seconds": tick_interval,
        "data_dir": str(stack.data_dir),
        "inbox_page": f"{stack.console_url}/inbox?person=<person_id>#token=<POST /v1/people/<person_id>/inbox/token>",
        "push_apps": dict(stack.stack.push_apps),
        **dev_company,
    }
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        print(f"API             {info['api_url']}  (try GET /v1/health)")
        print(f"AWS (moto)      {info['aws_endpoint_url']}")
        print(f"dev console     {info['console_url']}  (scheduled-comms tick | outbox | voice-sim)")
        print(f"data            {info['data_dir']}  (kept across restarts; --fresh starts empty)")
        print(f"tick            every {tick_interval:g} s" if tick_interval else "tick            on demand")
        print(f"dev company     {info['company_id']}  ({credits} credits)")
        print(f"sender number   phone_number_id {info['phone_number_id']}")
        print(f"voice config    voice_agent_outbound_config_id {info['voice_agent_outbound_config_id']}")
        print(f"push apps       {json.dumps(info['push_apps'])}  (a brand's push_apps)")
        print(f"inbox page      {info['inbox_page']}")
        print(f"admin           AWS_ENDPOINT_URL={info['aws_endpoint_url']} scheduled-comms api-keys create ...")
        print("API key (all scopes):")
        print(info["api_key"], flush=True)
    stopped.wait()
    stack.stop()
    # Everything is closed and written; skip the interpreter's teardown of moto's thousands of modules
    # (over a second) so a supervisor sees the exit at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def tick(
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time the tick runs as of (default: now).")] = None,
    console: ConsoleOption = "http://127.0.0.1:4570",
    as_json: JsonOption = False,
) -> None:
    """Run one tick on the local stack now (or as of --at) and print what it did."""
    with err.status("ticking: claiming due rows and sending them..."):
        summary = _console(console, "POST", "/tick", {"at": at} if at else {})
    if as_json:
        print(json.dumps(summary))
        return
    from rich.table import Table

    table = Table("outcome", "rows", title="tick")
    for key, value in summary.items():
        table.add_row(key, str(value))
    Console().print(table)


@app.command()
def outbox(console: ConsoleOption = "http://127.0.0.1:4570", as_json: JsonOption = False) -> None:
    """What the local stack has sent: emails (SES), SMS (SNS), pushes (one line per device) and calls."""
    messages = _console(console, "GET", "/outbox")["messages"]
    if as_json:
        print(json.dumps(messages))
        return
    from rich.table import Table

    table = Table("channel", "recipient", "subject / excerpt", "external id", title=f"outbox ({len(messages)})")
    for message in messages:
        table.add_row(
            message["channel"],
            message["recipient"],
            message.get("subject") or message["excerpt"],
            message["external_id"],
        )
    Console().print(table)


@voice_app.command("calls")
def voice_calls(console: ConsoleOption = "http://127.0.0.1:4570", as_json: JsonOption = False) -> None:
    """Calls the simulator has placed."""
    calls = _console(console, "GET", "/calls")["calls"]
    if as_json:
        print(json.dumps(calls))
        return
    for call in calls:
        ended = (call.get("ended") or {}).get("end_reason", "in progress")
        print(f"{call['call_id']}  {call['to_number']}  {ended}")


@voice_app.command("end")
def voice_end(
    call_id: Annotated[str, typer.Argument(help="The call id (a row's dispatched_external_id).")],
    outcome: Annotated[str, typer.Option("--outcome", help="no_answer, voicemail or conversation.")] = "no_answer",
    seconds: Annotated[float, typer.Option("--seconds", min=0, help="Talk time, for a conversation.")] = 0,
    console: ConsoleOption = "http://127.0.0.1:4570",
    as_json: JsonOption = False,
) -> None:
    """End a simulated call; the simulator posts the signed outcome webhook to the API."""
    result = _console(console, "POST", f"/calls/{call_id}/end", {"outcome": outcome, "seconds": seconds})
    _emit(as_json, result, f"ended {call_id}: webhook answered {result['webhook_status']}")


@app.command()
def invoke(
    function: Annotated[
        str, typer.Argument(help="A function of template.yaml: its logical id (TickFunction) or directory (tick).")
    ],
    event: Annotated[
        Path | None,
        typer.Option(
            "--event",
            "-e",
            exists=True,
            dir_okay=False,
            help="Event file, as `sam local invoke -e` takes (default: events/<function directory>.json).",
        ),
    ] = None,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Port of the local API (the webhook URL the tick gives for calls).")
    ] = 3000,
) -> None:
    """Run one function's handler in this process against the local stack and print its response.

    Like `sam local invoke`, without Docker: the handler named in template.yaml, the template's environment,
    and AWS_ENDPOINT_URL (default http://127.0.0.1:4566) pointing to `scheduled-comms dev`'s moto. Its logs
    go to stderr; a handler that raises prints Lambda's error object and exits 1.
    """
    import contextlib
    import socket

    from scheduled_comms_local.template import Stack

    from scheduled_comms_cli import invoke as invoking
    from scheduled_comms_cli.local_stack import FunctionHost, create_stack_resources, host_functions, use_local_aws

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    if not is_local_endpoint(endpoint):
        raise typer.BadParameter(f"invoke runs against the local stack; AWS_ENDPOINT_URL is {endpoint}")
    stack = Stack(LOCAL_STACK_NAME)
    logical_id = invoking.function_ids(stack).get(function)
    if logical_id is None:
        names = ", ".join(sorted(stack.resources("AWS::Serverless::Function")))
        raise typer.BadParameter(f"no function {function} in template.yaml; one of {names}", param_hint="FUNCTION")
    path = event or invoking.sample_event_path(stack, logical_id)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--event") from None
    address = urlsplit(endpoint)
    try:  # at once, rather than after botocore's retries
        socket.create_connection((address.hostname, address.port or 80), timeout=2).close()
    except OSError:
        err.print(f"[red]no local stack at {endpoint}; start it with `scheduled-comms dev`[/red]")
        raise typer.Exit(1) from None
    use_local_aws(endpoint)
    # Powertools logs to the stdout it finds when first imported: stderr here, so stdout is the response alone.
    with contextlib.redirect_stdout(sys.stderr):
        create_stack_resources(stack)
        host_functions(stack, f"http://127.0.0.1:{api_port}")
        returned, response = invoking.invoke(FunctionHost(stack), logical_id, payload)
    print(json.dumps(response, default=str))
    if not returned:
        raise typer.Exit(1)


@app.command()
def openapi(
    check: Annotated[bool, typer.Option("--check", help="Fail if the committed document is out of date.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Regenerate openapi.json from the route functions (or check that it is current)."""
    from scheduled_comms_cli import openapi as generator

    paths = [str(path) for path in generator.DOCUMENT_PATHS]
    if check:
        expected = generator.render(generator.build_document())
        stale = [str(path) for path in generator.DOCUMENT_PATHS if path.read_text() != expected]
        _emit(as_json, {"current": not stale, "stale": stale}, "openapi.json is current" if not stale else "")
        if stale:
            err.print(f"[red]out of date: {', '.join(stale)}; run `scheduled-comms openapi`[/red]")
            raise typer.Exit(1)
        return
    generator.write()
    _emit(as_json, {"written": paths}, "\n".join(paths))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
