"""``scheduled-comms``: run the service locally and administer companies, API keys and credits."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from typing import Annotated, Any

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
        from scheduled_comms_cli.template import Stack

        return Stack(LOCAL_STACK_NAME).physical_name("CommunicationsTable")
    raise typer.BadParameter("give --table or --stack (or set AWS_ENDPOINT_URL for the local stack)")


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
    from scheduled_comms.adapters.dynamodb import DynamoApiKeyStore
    from scheduled_comms.errors import ValidationFailed
    from scheduled_comms.logic.auth import issue_api_key, parse_scopes
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.values import check_uuid

    try:
        company_id = check_uuid(company)
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
    from scheduled_comms.adapters.dynamodb import DynamoApiKeyStore
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
    from scheduled_comms.adapters.dynamodb import DynamoCreditLedger
    from scheduled_comms.models.domain import now_utc
    from scheduled_comms.models.values import check_uuid

    try:
        company_id = check_uuid(company)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--company") from None
    balance = DynamoCreditLedger(_table_name(table, stack)).grant(company_id, amount, now_utc())
    _emit(as_json, {"company_id": company_id, "credits": balance}, f"company {company_id} now has {balance} credits")


@app.command()
def dev(
    api_port: Annotated[int, typer.Option("--api-port", help="Port of the HTTP API.")] = 3000,
    aws_port: Annotated[int, typer.Option("--aws-port", help="Port of moto's server (the local AWS).")] = 4566,
    credits: Annotated[int, typer.Option("--credits", help="Credits of the dev company.")] = 50_000,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the functions' logs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the whole service on this machine: moto as AWS, the API on 127.0.0.1, a dev company and key."""
    from scheduled_comms_cli.local_stack import LocalStack, PortInUse

    stack = LocalStack(api_port=api_port, aws_port=aws_port, verbose=verbose)
    try:
        dev_company = stack.start(credits=credits)
    except PortInUse as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    info = {
        "api_url": stack.api_url,
        "aws_endpoint_url": stack.aws_endpoint_url,
        "communications_table": stack.stack.physical_name("CommunicationsTable"),
        **dev_company,
    }
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        print(f"API            {info['api_url']}  (try GET /v1/health)")
        print(f"AWS (moto)     {info['aws_endpoint_url']}")
        print(f"table          {info['communications_table']}")
        print(f"dev company    {info['company_id']}  ({credits} credits)")
        print(f"admin          AWS_ENDPOINT_URL={info['aws_endpoint_url']} scheduled-comms api-keys create ...")
        print("API key (all scopes):")
        print(info["api_key"], flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    stack.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
