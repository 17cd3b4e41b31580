"""Reads template.yaml: the one definition of tables, secrets, routes and function environments.

The local stack and the integration tests build their AWS resources and their Lambda environments
from here, so they cannot drift from what ``sam deploy`` creates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


_NO_VALUE = object()


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long form."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # /v1/scheduled-communications/{id}
    function: str  # logical id
    authorized: bool

    def match(self, path: str) -> dict[str, str] | None:
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class StreamConsumer:
    """A function's DynamoDB stream event source mapping, as the template declares it."""

    function: str  # logical id
    table: str  # logical id of the table whose stream it reads
    starting_position: str
    batch_size: int
    maximum_retry_attempts: int  # -1: until the record expires
    bisect_on_error: bool
    report_item_failures: bool
    filter_patterns: list[dict[str, Any]]
    on_failure_queue: str | None  # logical id of the SQS queue


@dataclass(frozen=True)
class QueueConsumer:
    """A function's SQS event source mapping, as the template declares it."""

    function: str  # logical id
    queue: str  # logical id of the queue it reads
    batch_size: int
    maximum_concurrency: int | None
    report_item_failures: bool


@dataclass
class Stack:
    """The template resolved for one stack name: physical names and intrinsic functions evaluated."""

    name: str
    region: str = "us-east-1"
    account: str = "123456789012"
    template: dict[str, Any] = field(default_factory=load_template)
    physical: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical id -> URL (a queue's Ref)
    push_apps: dict[str, str] = field(default_factory=dict)  # push platform -> SNS platform application ARN

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def _type(self, logical_id: str) -> str | None:
        resource = self.template["Resources"].get(logical_id)
        return resource["Type"] if resource else None

    def parameter_default(self, name: str) -> Any:
        return self.template.get("Parameters", {}).get(name, {}).get("Default")

    def physical_name(self, logical_id: str) -> str:
        return self.physical.get(logical_id) or f"{self.name}-{logical_id}"

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def condition(self, name: str) -> bool:
        return bool(self._evaluate_condition(self.template.get("Conditions", {})[name]))

    def _evaluate_condition(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(part) for part in arg)
                return left == right
            if key == "Fn::Not":
                return not self._evaluate_condition(arg[0])
            if key == "Condition":
                return self.condition(arg)
        return self.resolve(value)

    def resolve(self, value: Any) -> Any:
        """Evaluate Ref, GetAtt, Sub and If against parameters' defaults and physical names."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in self.template.get("Parameters", {}):
                    return self.parameter_default(arg)
                if arg == "AWS::NoValue":
                    return _NO_VALUE
                if arg in self.queue_urls:
                    return self.queue_urls[arg]
                return self.pseudo(arg) or self.physical_name(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg
                if self._type(logical_id) == "AWS::SQS::Queue" and attribute == "Arn":
                    return f"arn:aws:sqs:{self.region}:{self.account}:{self.physical_name(logical_id)}"
                if attribute == "Arn":
                    return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.physical_name(logical_id)}"
                return self.physical_name(logical_id)
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([\w:.]+)\}", lambda m: str(self.resolve({"Ref": m.group(1)})), text)
        if isinstance(value, dict):
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not _NO_VALUE]
        return value

    def function_environment(self, logical_id: str) -> dict[str, str]:
        globals_env = self.template.get("Globals", {}).get("Function", {}).get("Environment", {})
        own_env = self.template["Resources"][logical_id]["Properties"].get("Environment", {})
        merged = {**globals_env.get("Variables", {}), **own_env.get("Variables", {})}
        return {k: str(v) for k, v in self.resolve(merged).items()}

    def environment(self) -> dict[str, str]:
        """Every function's variables together (one process hosts them all locally); they must agree."""
        merged: dict[str, str] = {}
        for logical_id in self.resources("AWS::Serverless::Function"):
            for key, value in self.function_environment(logical_id).items():
                if merged.setdefault(key, value) != value:
                    raise ValueError(f"functions disagree on {key}; the local stack cannot host them together")
        return merged

    def runtime_environment(self, logical_id: str) -> dict[str, str]:
        """What a deployed function's process sees: its variables, and those the Lambda runtime adds.

        The runtime's own matter to the code: ``LAMBDA_TASK_ROOT`` turns Powertools' tracer on (unless
        ``POWERTOOLS_TRACE_DISABLED``), ``AWS_LAMBDA_FUNCTION_NAME`` is in the settings, and the logging
        configuration reaches Powertools' logger through ``AWS_LAMBDA_LOG_*``.
        """
        logging = self.function_setting(logical_id, "LoggingConfig", {})
        runtime = {
            "AWS_LAMBDA_FUNCTION_NAME": self.physical_name(logical_id),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function_setting(logical_id, "MemorySize", 128)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.function_setting(logical_id, 'Runtime')}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_LAMBDA_LOG_FORMAT": str(logging.get("LogFormat", "Text")),
        }
        if "ApplicationLogLevel" in logging:
            runtime["AWS_LAMBDA_LOG_LEVEL"] = str(self.resolve(logging["ApplicationLogLevel"]))
        if self.function_setting(logical_id, "Tracing") == "Active":
            runtime.update({"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"})
        return {**self.function_environment(logical_id), **runtime}

    def function_setting(self, logical_id: str, name: str, default: Any = None) -> Any:
        """A function property, else its Globals value (Timeout, MemorySize, ...)."""
        own = self.template["Resources"][logical_id]["Properties"]
        return own.get(name, self.template.get("Globals", {}).get("Function", {}).get(name, default))

    def handler_file(self, logical_id: str) -> tuple[Path, str]:
        properties = self.template["Resources"][logical_id]["Properties"]
        handler = properties.get("Handler") or self.template["Globals"]["Function"]["Handler"]
        module, _, attribute = handler.rpartition(".")
        return PROJECT_ROOT / properties["CodeUri"] / f"{module.replace('.', '/')}.py", attribute

    def routes(self) -> list[Route]:
        found = []
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "Api":
                    continue
                props = event["Properties"]
                authorized = props.get("Auth", {}).get("Authorizer") != "NONE"
                found.append(Route(props["Method"].upper(), props["Path"], logical_id, authorized))
        return found

    def scheduled_functions(self) -> list[tuple[str, str]]:
        """(logical id, schedule expression) of every function with a Schedule event."""
        found = []
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] == "Schedule":
                    found.append((logical_id, event["Properties"]["Schedule"]))
        return found

    def stream_consumers(self) -> list[StreamConsumer]:
        """Every function with a DynamoDB stream event, with its event source mapping's settings."""
        found = []
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "DynamoDB":
                    continue
                props = event["Properties"]
                on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                found.append(
                    StreamConsumer(
                        function=logical_id,
                        table=props["Stream"]["Fn::GetAtt"][0],
                        starting_position=props.get("StartingPosition", "LATEST"),
                        batch_size=int(props.get("BatchSize", 100)),
                        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                        report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                        filter_patterns=[
                            json.loads(f["Pattern"]) for f in props.get("FilterCriteria", {}).get("Filters", [])
                        ],
                        on_failure_queue=on_failure["Fn::GetAtt"][0] if on_failure else None,
                    )
                )
        return found

    def queue_consumers(self) -> list[QueueConsumer]:
        """Every function with an SQS event, with its event source mapping's settings."""
        found = []
        for logical_id, resource in self.resources("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "SQS":
                    continue
                props = event["Properties"]
                concurrency = props.get("ScalingConfig", {}).get("MaximumConcurrency")
                found.append(
                    QueueConsumer(
                        function=logical_id,
                        queue=props["Queue"]["Fn::GetAtt"][0],
                        batch_size=int(props.get("BatchSize", 10)),
                        maximum_concurrency=None if concurrency is None else int(self.resolve(concurrency)),
                        report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    )
                )
        return found

    def queue_definitions(self) -> dict[str, dict[str, str]]:
        """create_queue attributes of each AWS::SQS::Queue (a redrive policy's target by its ARN)."""
        queues = {}
        for logical_id, resource in self.resources("AWS::SQS::Queue").items():
            props = self.resolve(resource.get("Properties", {}))
            attributes = {
                name: str(props[name]) for name in ("VisibilityTimeout", "MessageRetentionPeriod") if name in props
            }
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            queues[logical_id] = attributes
        return queues

    def authorizer(self) -> tuple[str, int]:
        """The API's default authorizer function (logical id) and its cache TTL in seconds."""
        auth = self.resources("AWS::Serverless::Api")["ServiceApi"]["Properties"]["Auth"]
        spec = auth["Authorizers"][auth["DefaultAuthorizer"]]
        logical_id = spec["FunctionArn"]["Fn::GetAtt"][0]
        ttl = int(self.resolve(spec.get("Identity", {}).get("ReauthorizeEvery", 300)))
        return logical_id, ttl

    def binary_media_types(self) -> list[str]:
        """The API's binary media types (``~1`` written as ``/``): bodies of these reach functions base64-encoded."""
        api = self.resources("AWS::Serverless::Api")["ServiceApi"]["Properties"]
        return [kind.replace("~1", "/") for kind in api.get("BinaryMediaTypes", [])]

    def gateway_responses(self) -> dict[str, tuple[int | None, str]]:
        """ResponseType -> (status, application/json body template) of the API's gateway responses."""
        api = self.resources("AWS::Serverless::Api")["ServiceApi"]["Properties"]
        return {
            response_type: (
                int(spec["StatusCode"]) if "StatusCode" in spec else None,
                spec["ResponseTemplates"]["application/json"],
            )
            for response_type, spec in api.get("GatewayResponses", {}).items()
        }

    def table_definitions(self) -> dict[str, dict[str, Any]]:
        """create_table arguments (and TTL attribute) for each AWS::DynamoDB::Table."""
        tables = {}
        for logical_id, resource in self.resources("AWS::DynamoDB::Table").items():
            props = self.resolve(resource["Properties"])
            request = {
                "TableName": props.get("TableName") or self.physical_name(logical_id),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PROVISIONED"),
            }
            if props.get("GlobalSecondaryIndexes"):
                request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if props.get("StreamSpecification"):
                request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            ttl = props.get("TimeToLiveSpecification")
            tables[logical_id] = {"create": request, "ttl_attribute": ttl["AttributeName"] if ttl else None}
        return tables


# The SNS platform applications a local stack has, one per push platform, named as the template's IAM
# statements and PUT /v1/brands expect: "<stack>-<suffix>" (CloudFormation has no resource for them).
LOCAL_PUSH_APPS = {"apns": ("APNS", "apns"), "apns_sandbox": ("APNS_SANDBOX", "apns-sandbox"), "fcm": ("GCM", "fcm")}


def create_push_apps(stack: Stack, sns: Any) -> dict[str, str]:
    """The stack's SNS platform applications (created if missing): platform -> application ARN."""
    existing = {
        app["PlatformApplicationArn"].rsplit("/", 1)[-1]: app["PlatformApplicationArn"]
        for app in sns.list_platform_applications().get("PlatformApplications", [])
    }
    for platform, (sns_platform, suffix) in LOCAL_PUSH_APPS.items():
        name = f"{stack.name}-{suffix}"
        arn = (
            existing.get(name)
            or sns.create_platform_application(
                Name=name,
                Platform=sns_platform,
                Attributes={"PlatformCredential": "local", "PlatformPrincipal": "local"},
            )["PlatformApplicationArn"]
        )
        stack.push_apps[platform] = arn
    return dict(stack.push_apps)


def create_resources(
    stack: Stack,
    dynamodb: Any,
    secretsmanager: Any,
    events: Any,
    sqs: Any | None = None,
    kms: Any | None = None,
    sns: Any | None = None,
) -> dict[str, str]:
    """Create the template's tables, secrets, event buses, KMS keys and queues, and the SNS platform
    applications brands push through (idempotently): logical id -> physical id.

    Queues, keys and applications use the clients given (else ones made here); a queue's Ref is its URL."""
    import secrets as random_secrets

    import boto3

    existing = set(dynamodb.list_tables().get("TableNames", []))
    for logical_id, spec in stack.table_definitions().items():
        name = spec["create"]["TableName"]
        if name not in existing:
            dynamodb.create_table(**spec["create"])
            if spec["ttl_attribute"]:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": spec["ttl_attribute"], "Enabled": True},
                )
        stack.physical[logical_id] = name
    for logical_id in stack.resources("AWS::SecretsManager::Secret"):
        name = stack.physical_name(logical_id)
        try:
            arn = secretsmanager.describe_secret(SecretId=name)["ARN"]
        except secretsmanager.exceptions.ResourceNotFoundException:
            arn = secretsmanager.create_secret(Name=name, SecretString=random_secrets.token_urlsafe(48))["ARN"]
        stack.physical[logical_id] = arn
    kms = kms or boto3.client("kms", region_name=stack.region)
    for logical_id in stack.resources("AWS::KMS::Key"):
        alias = f"alias/{stack.name}-{logical_id}"  # found again by its alias, as the stack restarts
        try:
            key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        except kms.exceptions.NotFoundException:
            key_id = kms.create_key(Description=f"{logical_id} of the local stack")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        stack.physical[logical_id] = key_id
    for logical_id, resource in stack.resources("AWS::Events::EventBus").items():
        name = stack.resolve(resource["Properties"]["Name"])
        if name not in {bus["Name"] for bus in events.list_event_buses().get("EventBuses", [])}:
            events.create_event_bus(Name=name)
        stack.physical[logical_id] = name
    if sqs is None:
        sqs = boto3.client("sqs", region_name=stack.region)
    queues: Any = sqs  # its attributes are typed as a closed set of names; ours come from the template
    definitions = stack.queue_definitions()
    # Dead-letter queues first: a redrive policy names its target.
    for logical_id in sorted(definitions, key=lambda q: "RedrivePolicy" in definitions[q]):
        url = queues.create_queue(QueueName=stack.physical_name(logical_id), Attributes=definitions[logical_id])[
            "QueueUrl"
        ]
        stack.queue_urls[logical_id] = url
    create_push_apps(stack, sns or boto3.client("sns", region_name=stack.region))
    return dict(stack.physical)
