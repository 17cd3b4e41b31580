"""template.yaml is the single source of truth: translated by the SAM translator and created in moto's
CloudFormation, it yields the tables, indexes, bus, rule and queues the code expects, and every
function's environment names them. (API Gateway resources are left out: moto cannot create them.)"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from typing import Any

import boto3
import pytest
from samtranslator.translator.transform import transform
from scheduled_comms.adapters.dynamodb.items import FILTER_INDEXES, RECIPIENT_INDEX
from scheduled_comms_local.template import load_template

CODE = "s3://artifacts/code.zip"


class NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only for policies named by ARN; ours use templates."""

    def load(self) -> dict[str, str]:
        return {}


def translated() -> dict[str, Any]:
    sam = copy.deepcopy(load_template())
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = CODE
    return transform(sam, {}, NoManagedPolicies())


def without_api_gateway(template: dict[str, Any]) -> dict[str, Any]:
    removed = {k for k, r in template["Resources"].items() if r["Type"].startswith("AWS::ApiGateway::")}

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" and arg in removed:
                    return f"removed-{arg}"
                if key == "Ref" and arg == "EventBus":  # moto's Ref of a bus is its model object, not its name
                    return {"Fn::GetAtt": ["EventBus", "Name"]}
                if key == "Fn::GetAtt" and (arg[0] if isinstance(arg, list) else arg.split(".")[0]) in removed:
                    return "removed"
                if key == "Fn::Sub" and isinstance(arg, str):
                    for name in removed:
                        arg = arg.replace("${" + name + "}", f"removed-{name}")
                    attributes = r"\$\{(" + "|".join(removed) + r")\.[^}]*\}"
                    return {"Fn::Sub": re.sub(attributes, "removed", arg)}
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    template = copy.deepcopy(template)
    template["Resources"] = {k: scrub(r) for k, r in template["Resources"].items() if k not in removed}
    template["Outputs"] = {k: scrub(o) for k, o in template.get("Outputs", {}).items()}
    return template


@pytest.fixture(scope="module")
def deployed(stack) -> Any:
    """Created in the session's moto backend, beside (not instead of) the tables the tests use."""
    cfn = translated()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    s3.put_object(Bucket="artifacts", Key="code.zip", Body=archive.getvalue())
    formation = boto3.client("cloudformation")
    formation.create_stack(
        StackName="sc", TemplateBody=json.dumps(without_api_gateway(cfn)), Capabilities=["CAPABILITY_IAM"]
    )
    created = formation.describe_stacks(StackName="sc")["Stacks"][0]
    yield cfn, created, {o["OutputKey"]: o["OutputValue"] for o in created.get("Outputs", [])}


def test_stack_creates(deployed):
    _, stack, outputs = deployed
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {"CommunicationsTableName", "EventBusName", "TickDeadLetterQueueUrl"} <= set(outputs)


def test_tables_and_indexes_are_what_the_code_queries(deployed):
    cfn, _, outputs = deployed
    table = boto3.client("dynamodb").describe_table(TableName=outputs["CommunicationsTableName"])["Table"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    linked = (*FILTER_INDEXES, RECIPIENT_INDEX)
    assert {index.name for index in linked} | {"Due"} == set(indexes)
    for index in linked:
        keys = {k["KeyType"]: k["AttributeName"] for k in indexes[index.name]["KeySchema"]}
        assert keys == {"HASH": index.attribute, "RANGE": "sk"}
        assert indexes[index.name]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    assert {k["KeyType"]: k["AttributeName"] for k in indexes["Due"]["KeySchema"]} == {
        "HASH": "due_shard",
        "RANGE": "scheduled_for",
    }
    # What the due query reads and filters on: a claim changes these, never the index's keys.
    assert {"channel", "status", "lease_until"} == set(indexes["Due"]["Projection"]["NonKeyAttributes"])
    ttl = {
        r["Properties"].get("TimeToLiveSpecification", {}).get("AttributeName")
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert ttl == {"expires_at"}  # moto's CloudFormation does not apply TTL; the template states it


def test_tick_rule_bus_and_dead_letter_queue_exist(deployed):
    _, _, outputs = deployed
    events = boto3.client("events")
    # Described by name: a list is paged, and the isolated tests' buses fill its first page.
    assert events.describe_event_bus(Name=outputs["EventBusName"])["Name"] == outputs["EventBusName"]
    rules = [r for r in events.list_rules()["Rules"] if r.get("ScheduleExpression") == "rate(1 minute)"]
    assert len(rules) == 1
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert [t["Arn"].split(":")[-1] for t in targets] == [outputs["TickFunctionName"]]
    assert outputs["TickDeadLetterQueueUrl"].split("/")[-1] in str(boto3.client("sqs").list_queues())


def test_every_function_environment_names_the_stacks_resources(deployed):
    cfn, _, outputs = deployed
    functions = {f["FunctionName"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    assert len(functions) == len([r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Function"])
    for name, function in functions.items():
        variables = function["Environment"]["Variables"]
        assert variables["COMMUNICATIONS_TABLE"] == outputs["CommunicationsTableName"], name
        assert variables["POWERTOOLS_SERVICE_NAME"] == "scheduled-comms"
        assert function["Runtime"] == "python3.12"
    publisher = functions[outputs["PublishTransitionsFunctionName"]]["Environment"]["Variables"]
    assert publisher["EVENT_BUS_NAME"] == outputs["EventBusName"]
    only_publisher = [n for n, f in functions.items() if "EVENT_BUS_NAME" in f["Environment"]["Variables"]]
    assert only_publisher == [outputs["PublishTransitionsFunctionName"]], "only the stream consumer publishes"
    listing = cfn["Resources"]["ListCommunicationsFunction"]["Properties"]["Environment"]["Variables"]
    assert listing["CURSOR_SECRET_ARN"] == {"Ref": "CursorSigningSecret"}  # moto's CloudFormation lacks secrets
