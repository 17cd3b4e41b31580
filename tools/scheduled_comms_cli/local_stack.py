"""The embedded default: moto's server as AWS and the template's routes served over HTTP on localhost.

Requests reach the same Lambda handlers API Gateway would call, as REST proxy events, after the same
REQUEST authorizer (with its cache). Nothing here is a second code path of the service: the handlers
talk to "AWS" through boto3 and AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scheduled_comms_cli.http_server import POLL_SECONDS, LocalHTTPServer
from scheduled_comms_cli.persistence import StateStore
from scheduled_comms_cli.template import Route, Stack

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit on a synchronous request or response

_serialise_lock = threading.RLock()
_prepared = False


def prepare_moto_dynamodb() -> None:
    """Make moto's DynamoDB behave like the real one under threads, and answer index queries in good time.

    DynamoDB applies a condition check and its write atomically; moto does not, so concurrent
    conditional writes could both succeed. One lock around each request restores the real behaviour.

    moto sorts the whole table, and then the items of an index query, by comparing its ``DynamoType``
    wrappers, which convert both values on every comparison: seconds per query on a 10,000-row table.
    Sorting on the values, converted once per item, gives the same order (a key attribute has one
    type) far faster; and a string converts to itself without the five type checks before it.

    Its streams answer ``get_records`` through the generic response serializer, which walks every
    attribute of every image against the API model (seconds per thousand records); the records are
    already DynamoDB JSON, so they are answered as they are.

    A transaction in moto deep-copies every table it names before it starts, to roll back on failure:
    a create (one transaction) costs time in proportion to the whole table, over half a second at a few
    hundred rows. Backing up only the items the transaction names, and putting them back on failure,
    gives the same all-or-nothing outcome at the cost of those items.
    """
    global _prepared
    if _prepared:
        return
    import copy

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _serialise_lock:
            return original(self)

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]) -> Any:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
        return items

    def key_of(item: Any) -> tuple[Any, Any]:
        # An item's key never changes (an update keeps it, a put makes a new item): work it out once.
        key = item.__dict__.get("_sort_key")
        if key is None:
            key = item._sort_key = (item.hash_key.cast_value, getattr(item.range_key, "cast_value", ""))
        return key

    def all_items(self: Any) -> list[Any]:
        items = [item for group in self.items.values() for item in (group.values() if self.range_key_attr else [group])]
        return sorted(items, key=key_of)

    convert = DynamoType.cast_value.fget  # type: ignore[attr-defined]

    def cast_value(self: Any) -> Any:
        return self.value if self.type == "S" else convert(self)

    def get_records(self: Any) -> tuple[int, dict[str, str], str]:
        limit = self._get_param("Limit") or 1000
        return 200, {}, dynamo_json_dump(self.backend.get_records(self._get_param("ShardIterator"), limit))

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign,assignment]
    in_transaction = threading.local()

    class TablesStayInPlace:
        """``copy`` as moto's DynamoDB models see it: a table is not copied while a transaction runs."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table) and getattr(in_transaction, "active", False):
                return value
            return copy.deepcopy(value, memo)

    def item_backups(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        backups: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) != 1:
                continue
            op = next(iter(entry.values()))
            table = backend.tables.get(op.get("TableName"))
            source = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in source:
                continue
            hash_value = DynamoType(source[table.hash_key_attr])
            if table.range_key_attr is None:
                backups.append((table, hash_value, None, copy.deepcopy(table.items.get(hash_value))))
            elif table.range_key_attr in source:
                range_value = DynamoType(source[table.range_key_attr])
                current = table.items.get(hash_value, {}).get(range_value)
                backups.append((table, hash_value, range_value, copy.deepcopy(current)))
        return backups

    def restore(backups: list[tuple[Any, Any, Any, Any]]) -> None:
        for table, hash_value, range_value, item in reversed(backups):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = item_backups(self, transact_items)
        # A write moto applied before a later item failed also left a stream record: undone with it.
        streams = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in backups if t.stream_shard}
        in_transaction.active = True
        try:
            original_transact(self, transact_items)
        except Exception:
            restore(backups)  # all or nothing, as DynamoDB
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            in_transaction.active = False

    dynamodb_models.copy = TablesStayInPlace()  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    _prepared = True


def prepare_moto_events() -> None:
    """Keep moto's EventBridge from rebuilding a JSONPath parser for every event it hands a target.

    moto 5.2 parses the nine default input paths afresh for each delivered event (a grammar table built
    per call, milliseconds each); the paths never change, so each parsed expression is kept.
    """
    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def moto_dynamodb_lock() -> threading.RLock:
    """The lock every moto DynamoDB request holds: hold it to read moto's tables between two requests."""
    return _serialise_lock


class MotoServer:
    """moto's server (its WSGI app under werkzeug's threaded server), started and stopped by the stack."""

    def __init__(self, port: int, verbose: bool = False, on_change: Callable[[], None] | None = None) -> None:
        import logging

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)
        prepare_moto_dynamodb()
        prepare_moto_events()
        app: Any = DomainDispatcherApplication(create_backend_app)
        if on_change is not None:
            from scheduled_comms_cli.persistence import ChangeWatcher

            app = ChangeWatcher(app, on_change)
        # werkzeug's server sets SO_REUSEADDR and a listen backlog of 128 itself.
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="moto", daemon=True
        )

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes | None,
    path_parameters: dict[str, str],
    authorizer: dict[str, Any] | None,
    stage: str = "local",
    binary_media_types: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event: a body of a binary media type travels base64-encoded, as the bytes sent.

    Otherwise API Gateway hands over text, with invalid UTF-8 replaced.
    """
    split = urlsplit(raw_path)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").split(";")[0].strip()
    binary = any(fnmatch(content_type or "application/json", kind) for kind in binary_media_types)
    multi_query = parse_qs(split.query, keep_blank_values=True)
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")) if body else None,
        "isBase64Encoded": binary,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{stage}{split.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": authorizer,
        },
    }


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


def authorizer_event(route: Route, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:local/local/{method}{route.path}",
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": {},
        "pathParameters": {},
        "requestContext": {"accountId": "123456789012", "apiId": "local", "stage": "local"},
    }


class Gateway:
    """API Gateway's part: route matching, the cached REQUEST authorizer and gateway responses."""

    def __init__(self, stack: Stack, host: FunctionHost) -> None:
        self._stack = stack
        self._host = host
        self._routes = stack.routes()
        self._authorizer, self._ttl = stack.authorizer()
        self._binary_media_types = tuple(stack.binary_media_types())
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._cache_lock = threading.Lock()

    def _find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for wanted in (method, "ANY"):
            for route in self._routes:
                if route.method == wanted:
                    params = route.match(path)
                    if params is not None:
                        return route, params
        return None

    def _authorize(self, route: Route, method: str, path: str, headers: dict[str, str]) -> dict[str, Any] | str:
        """The authorizer's context, or the gateway response type that refuses the request."""
        token = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if not token:
            return "UNAUTHORIZED"
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(token)
            if cached and cached[0] > now:
                return cached[1] or "ACCESS_DENIED"
        try:
            policy = self._host.invoke(self._authorizer, authorizer_event(route, method, path, headers))
        except Exception as exc:  # API Gateway: "Unauthorized" is a 401, anything else an uncached 500
            return "UNAUTHORIZED" if str(exc) == "Unauthorized" else "AUTHORIZER_FAILURE"
        allowed = any(s["Effect"] == "Allow" for s in policy["policyDocument"]["Statement"])
        context = {**policy.get("context", {}), "principalId": policy["principalId"]} if allowed else None
        if self._ttl > 0:
            with self._cache_lock:
                self._cache[token] = (now + self._ttl, context)
        return context or "ACCESS_DENIED"

    def error(self, response_type: str, status: int) -> tuple[int, dict[str, str], str]:
        """A gateway response rendered from the template, as API Gateway would."""
        responses = self._stack.gateway_responses()
        default = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        own_status, template = responses.get(response_type) or responses[default]
        body = template.replace("$context.error.messageString", json.dumps(HTTPStatus(status).phrase))
        return own_status or status, {"Content-Type": "application/json"}, body

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes | str | None
    ) -> tuple[int, dict[str, str], str]:
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        path = urlsplit(raw_path).path
        found = self._find(method, path)
        if found is None:
            return self.error("MISSING_AUTHENTICATION_TOKEN", 403)
        route, params = found
        context = None
        if route.authorized:
            outcome = self._authorize(route, method, path, headers)
            if isinstance(outcome, str):
                return self.error(outcome, {"UNAUTHORIZED": 401, "ACCESS_DENIED": 403}.get(outcome, 500))
            context = outcome
        event = proxy_event(
            route, method, raw_path, headers, body, params, context, binary_media_types=self._binary_media_types
        )
        if len(json.dumps(event)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return self.error("REQUEST_TOO_LARGE", 413)
        try:
            result = self._host.invoke(route.function, event)
        except Exception:
            return self.error("INTEGRATION_FAILURE", 502)
        if len(json.dumps(result)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return self.error("INTEGRATION_FAILURE", 502)  # Lambda refuses responses over 6 MB
        response_headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[key] = ", ".join(values)
        return int(result["statusCode"]), response_headers, result.get("body") or ""


BODY_READ_TIMEOUT_SECONDS = 3


def make_http_server(gateway: Gateway, port: int) -> LocalHTTPServer:
    """The gateway over HTTP; a Content-Length that is not a number, or more than arrives, is a 400."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            declared = (self.headers.get("Content-Length") or "0").strip()
            length = int(declared) if declared.isdigit() else -1
            if length < 0:
                status, headers, body = gateway.error("BAD_REQUEST_BODY", 400)
                self.close_connection = True
            elif length > MAX_REQUEST_BYTES:
                status, headers, body = gateway.error("REQUEST_TOO_LARGE", 413)
                self.close_connection = True
            else:
                # A client that announces more body than it sends is answered 400, not waited for.
                self.connection.settimeout(BODY_READ_TIMEOUT_SECONDS)
                try:
                    raw = self.rfile.read(length)
                except TimeoutError:
                    raw = b""
                finally:
                    self.connection.settimeout(None)
                if len(raw) < length:
                    status, headers, body = gateway.error("BAD_REQUEST_BODY", 400)
                    self.close_connection = True
                else:
                    status, headers, body = gateway.handle(
                        self.command, self.path, dict(self.headers.items()), raw or None
                    )
            payload = body.encode()
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # every method reaches the gateway, as on API Gateway
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("SCHEDULED_COMMS_ACCESS_LOG"):
                super().log_message(format, *args)

    return LocalHTTPServer(("127.0.0.1", port), Handler)


class PortInUse(RuntimeError):
    pass


def ensure_port_free(port: int, option: str) -> None:
    """Bind as the servers will (SO_REUSEADDR, so a restart's TIME-WAIT leftovers do not count)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(f"port {port} on 127.0.0.1 is in use; choose another with {option}") from None


DEV_SENDER_DOMAIN = "dev.example.com"
STREAM_POLL_SECONDS = 1.0


def use_local_aws(aws_endpoint_url: str) -> None:
    """Point this process's AWS clients at the local stack's moto, with its dummy credentials and region."""
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = aws_endpoint_url


def create_stack_resources(stack: Stack) -> Any:
    """The template's tables, secrets and buses on the local AWS, created if missing (which fills in
    ``stack``'s physical names); a boto3 session to it."""
    import boto3

    from scheduled_comms_cli.template import create_resources

    session = boto3.session.Session()
    create_resources(stack, session.client("dynamodb"), session.client("secretsmanager"), session.client("events"))
    return session


def host_functions(stack: Stack, api_url: str, tick_interval: float = 60, verbose: bool = False) -> None:
    """Let this process run the stack's functions as the local stack does: the template's environment with the
    stack's physical names, the local stand-ins for what AWS would give, and the voice simulator's allowance."""
    os.environ.update(stack.environment())
    os.environ.update(
        {
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO" if verbose else "WARNING",
            "POWERTOOLS_DEV": "false",
            "DEFAULT_FROM_EMAIL": f"noreply@{DEV_SENDER_DOMAIN}",
            "VOICE_WEBHOOK_URL": f"{api_url}/v1/webhooks/voice",
            "TICK_INTERVAL_SECONDS": str(max(5, int(tick_interval or 60))),
        }
    )
    from scheduled_comms import composition

    composition.reset()
    # The simulator speaks plain HTTP on 127.0.0.1: the local stack's own allowance, not a setting.
    composition.allow_loopback_http_endpoints()


class LocalStack:
    """moto's server, the template's resources, the API over HTTP, the tick on its schedule, a voice
    provider simulator with the dev console, and a dev company with a key, a number and a voice config."""

    def __init__(
        self,
        api_port: int = 3000,
        aws_port: int = 4566,
        console_port: int = 4570,
        tick_interval: float = 60,
        verbose: bool = False,
        stack_name: str = "scheduled-comms-local",
        data_dir: Path | None = None,
        fresh: bool = False,
    ) -> None:
        self.api_port = api_port
        self.aws_port = aws_port
        self.console_port = console_port
        self.tick_interval = tick_interval
        self.verbose = verbose
        self.stack = Stack(stack_name)
        self.simulator: Any = None
        self._moto: MotoServer | None = None
        self._http: LocalHTTPServer | None = None
        self._stopping = threading.Event()
        self._host: FunctionHost | None = None
        self._pumps: list[Any] = []
        self.data_dir = data_dir
        self.fresh = fresh
        self._state: StateStore | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def start(self, credits: int = 50_000) -> dict[str, str]:
        for port, option in (
            (self.api_port, "--api-port"),
            (self.aws_port, "--aws-port"),
            (self.console_port, "--console-port"),
        ):
            ensure_port_free(port, option)
        use_local_aws(self.aws_endpoint_url)
        restored = False
        if self.data_dir is not None:
            self._state = StateStore(self.data_dir, moto_dynamodb_lock())
            self._state.open(fresh=self.fresh)
            restored = self._state.restore()
        self._moto = MotoServer(self.aws_port, self.verbose, self._state.changed if self._state else None)
        self._moto.start()
        session = create_stack_resources(self.stack)
        if not restored:
            session.client("sesv2").create_email_identity(EmailIdentity=DEV_SENDER_DOMAIN)
        host_functions(self.stack, self.api_url, self.tick_interval, self.verbose)
        from scheduled_comms_cli.voice_simulator import VoiceProviderSimulator

        self.simulator = VoiceProviderSimulator(
            self.console_port,
            routes={
                ("GET", "/outbox"): self._outbox,
                ("POST", "/tick"): self._tick_route,
                ("GET", "/state"): self._state_route,
            },
        ).start()
        saved = self._state.load_dev_company() if self._state is not None and restored else None
        if saved is not None:  # the same company, key, number and voice config as before the restart
            company = saved["company"]
            self.simulator.register(**saved["simulator"])
        else:
            company, simulator = self.create_dev_company(credits)
            if self._state is not None:
                self._state.save_dev_company({"company": company, "simulator": simulator})
        if self._state is not None:
            self._state.start()
            self._state.changed()
        self._host = FunctionHost(self.stack)
        gateway = Gateway(self.stack, self._host)
        self._http = make_http_server(gateway, self.api_port)
        threading.Thread(target=self._http.serve_forever, args=(POLL_SECONDS,), name="local-api", daemon=True).start()
        if self.tick_interval > 0:
            threading.Thread(target=self._schedule_ticks, name="tick-schedule", daemon=True).start()
        from scheduled_comms_cli.streams import StreamPump

        self._pumps = [StreamPump(self.stack, self._host, consumer) for consumer in self.stack.stream_consumers()]
        threading.Thread(target=self._poll_streams, name="stream-pollers", daemon=True).start()
        return company

    def create_dev_company(self, credits: int) -> tuple[dict[str, str], dict[str, str]]:
        """The dev company's ids and key, and the voice simulator's registration of its config."""
        from scheduled_comms.composition import (
            api_key_store,
            credit_ledger,
            directory,
            endpoint_rules,
            host_resolver,
            vault,
        )
        from scheduled_comms.logic.auth import ALL_SCOPES, issue_api_key
        from scheduled_comms.logic.registry import register_phone_number, register_voice_agent_config
        from scheduled_comms.models.domain import Caller, now_utc
        from scheduled_comms.models.registry import PhoneNumberCreate, SenderSettings, VoiceAgentConfigCreate

        company_id = str(uuid.uuid4())
        credit_ledger().grant(company_id, credits, now_utc(), name="Dev company")
        record, api_key = issue_api_key(api_key_store(), company_id, ALL_SCOPES, now_utc(), name="dev")
        caller = Caller(company_id, frozenset(ALL_SCOPES), record.key_id)
        number = register_phone_number(
            directory(), caller, PhoneNumberCreate(number="+14155550100", label="dev sender"), now_utc()
        )
        # Its sender is in the dev domain, so a row may name any from_email there.
        sender = SenderSettings(default_from_email=f"noreply@{DEV_SENDER_DOMAIN}")
        directory().put_sender_settings(company_id, sender, now_utc())
        simulator_key = f"sim-{uuid.uuid4().hex}"
        config = register_voice_agent_config(
            directory(),
            vault(),
            caller,
            VoiceAgentConfigCreate.model_validate(
                {
                    "name": "Local voice simulator",
                    "endpoint_url": f"{self.console_url}/calls",
                    "agent_id": "dev-agent",
                    "api_key": simulator_key,
                }
            ),
            now_utc(),
            endpoint_rules(),
            host_resolver(),
        )
        simulator = {"config_id": config.id, "api_key": simulator_key, "webhook_secret": config.webhook_secret}
        self.simulator.register(**simulator)
        company = {
            "company_id": company_id,
            "api_key": api_key,
            "phone_number_id": number.id,
            "voice_agent_outbound_config_id": config.id,
        }
        return company, simulator

    def tick(self, at: datetime | None = None, single_pass: bool = True) -> dict[str, Any]:
        assert self._host is not None
        try:
            return dict(self._host.invoke("TickFunction", scheduled_event(at or datetime.now(UTC), single_pass)))
        finally:
            self.drain_streams()  # the tick's transitions are on the bus when the command returns

    def drain_streams(self) -> int:
        """Deliver every stream record written so far to its consumer (Lambda's event source mappings)."""
        return sum(pump.drain() for pump in self._pumps)

    def _poll_streams(self) -> None:
        """Lambda polls each stream shard about four times a second; once a second is enough here."""
        while not self._stopping.wait(STREAM_POLL_SECONDS):
            try:
                self.drain_streams()
            except Exception:  # the records stay in the stream and are delivered at the next poll
                import logging

                logging.getLogger("scheduled_comms_cli").exception("stream poll failed")

    def _tick_route(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from scheduled_comms.models.values import parse_instant

        try:
            at = parse_instant(body["at"]) if body.get("at") else None
        except ValueError as exc:
            return 422, {"error": f"at {exc}"}
        return 200, self.tick(at)

    def _state_route(self, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self._state is None:
            return 404, {"error": "this stack keeps no state on disk"}
        return 200, self._state.progress()

    def _outbox(self, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from scheduled_comms_cli.outbox import sent_messages

        return 200, {"messages": sent_messages(self.simulator.calls())}

    def _schedule_ticks(self) -> None:
        """EventBridge's part: a tick every interval; each keeps polling until the next one starts."""
        while not self._stopping.wait(self._seconds_to_next_tick()):
            threading.Thread(target=self._run_scheduled_tick, name="tick", daemon=True).start()

    def _seconds_to_next_tick(self) -> float:
        return self.tick_interval - (time.time() % self.tick_interval)

    def _run_scheduled_tick(self) -> None:
        try:
            self.tick(single_pass=False)
        except Exception:  # a failed tick is retried by the next one, as on AWS
            import logging

            logging.getLogger("scheduled_comms_cli").exception("tick failed")

    def stop(self) -> None:
        """Stop the tick schedule and close every port (the API first, so no request reaches a stopped moto)."""
        self._stopping.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self.simulator is not None:
            self.simulator.stop()
        if self._moto is not None:
            self._moto.stop()
        if self._state is not None:
            self._state.close()  # one last snapshot, taken once no request can change anything
