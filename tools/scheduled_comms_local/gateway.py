"""API Gateway's part, locally: the template's routes as REST proxy events to the handlers, after the
same REQUEST authorizer (with its cache), with API Gateway's limits and gateway responses, over HTTP."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from fnmatch import fnmatch
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scheduled_comms_local.http_server import LocalHTTPServer
from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.template import Route, Stack

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's limit on a synchronous request or response


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
        """As API Gateway routes: the most specific resource first (a literal segment beats a parameter, left
        to right: ``/v1/messages/schedule`` before ``/v1/messages/{message_id}``), then its method, else ANY."""
        matched = [(route, params) for route in self._routes if (params := route.match(path)) is not None]
        if not matched:
            return None

        def specificity(path: str) -> list[int]:
            return [0 if segment.startswith("{") else 1 for segment in path.strip("/").split("/")]

        resource = max((route.path for route, _ in matched), key=specificity)
        for wanted in (method, "ANY"):
            for route, params in matched:
                if route.path == resource and route.method == wanted:
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
        # The headers and the body leave in two writes: with Nagle's algorithm the body would wait for
        # the client's delayed ACK of the headers (40 ms on Linux) on every keep-alive request.
        disable_nagle_algorithm = True

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
