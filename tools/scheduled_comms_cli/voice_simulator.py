"""A local stand-in for the voice-agent provider, speaking the HTTP contract ``HttpVoiceSender`` uses.

``POST /calls`` places a call (idempotent on ``Idempotency-Key``) and answers ``{"call_id"}``;
``POST /calls/<id>/end`` with ``{"outcome": "no_answer" | "voicemail" | "conversation", "seconds": n}``
ends it and posts the signed outcome webhook to the ``webhook_url`` the call carried;
``GET /calls`` lists calls. Failures can be injected for tests: ``fail_next`` and ``delay_seconds``
for the next requests, or a ``fault`` function that picks a ``Fault`` per request.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib import request as urllib_request

from scheduled_comms.logic.voice_outcomes import SIGNATURE_HEADER, sign
from scheduled_comms_local.http_server import POLL_SECONDS, LocalHTTPServer

OUTCOMES = {
    "no_answer": {"answered": False, "talk_seconds": 0, "end_reason": "no_answer"},
    "voicemail": {"answered": True, "talk_seconds": 0, "end_reason": "voicemail"},
    "busy": {"answered": False, "talk_seconds": 0, "end_reason": "busy"},
    "failed": {"answered": False, "talk_seconds": 0, "end_reason": "failed"},
    "conversation": {"answered": True, "end_reason": "completed"},
}


@dataclass(frozen=True)
class OutcomeMix:
    """How campaign calls end, drawn at random by weight: ``(outcome, weight, talk seconds)`` each."""

    shares: tuple[tuple[str, float, float], ...]

    @classmethod
    def parse(cls, text: str) -> OutcomeMix:
        """``conversation:120=50,no_answer=30,voicemail=20``: outcome[:seconds]=weight, comma separated."""
        shares = []
        for part in text.split(","):
            name, _, weight = part.strip().partition("=")
            outcome, _, seconds = name.partition(":")
            if outcome not in OUTCOMES:
                raise ValueError(f"{outcome!r} is not an outcome: one of {', '.join(OUTCOMES)}")
            shares.append((outcome, float(weight or 1), float(seconds or 0)))
        if not shares or sum(weight for _, weight, _ in shares) <= 0:
            raise ValueError("give at least one outcome with a positive weight")
        return cls(tuple(shares))

    def draw(self, rng: random.Random) -> tuple[str, float]:
        """An outcome and its talk seconds."""
        outcome, _, seconds = rng.choices(self.shares, weights=[w for _, w, _ in self.shares])[0]
        return outcome, seconds


@dataclass
class SimulatedCall:
    call_id: str
    idempotency_key: str
    agent_id: str
    to_number: str
    dynamic_variables: dict[str, Any]
    metadata: dict[str, Any]
    webhook_url: str | None
    placed_at: float = field(default_factory=time.time)
    ended: dict[str, Any] | None = None


Route = Any  # (body: dict) -> (status, response body)
RawRoute = Callable[[str, str, dict[str, str], bytes | None], tuple[int, dict[str, str], bytes]]
# (method, path with query, headers, body) -> (status, headers, body)


@dataclass(frozen=True)
class Fault:
    """How the provider misbehaves on one request: answer late, and/or answer ``status`` instead of 201.

    With ``placed`` the call is placed before the error answer (an ambiguous failure: the caller cannot
    tell it went through); a late answer always comes after the call was placed.
    """

    status: int | None = None
    delay_seconds: float = 0.0
    placed: bool = False


class VoiceProviderSimulator:
    """The voice provider of the local stack; ``routes`` adds the dev console's own endpoints."""

    def __init__(
        self,
        port: int = 0,
        routes: dict[tuple[str, str], Route] | None = None,
        pages: dict[str, RawRoute] | None = None,
    ) -> None:
        self.routes = routes or {}
        # Paths answered whole by a function of the request (any method): the dev console's pages and its
        # same-origin way to the API, by path prefix.
        self.pages = pages or {}
        self._calls: dict[str, SimulatedCall] = {}
        self._by_key: dict[str, str] = {}
        self._secrets: dict[str, tuple[str, str]] = {}  # config id -> (api key, webhook secret)
        self._lock = threading.Lock()
        self.fail_next: list[int] = []  # statuses to answer with, one request each
        self.delay_seconds = 0.0
        self.fault: Callable[[str], Fault | None] | None = None  # given the Idempotency-Key
        self.auto_outcome: tuple[str, float] | None = None  # (outcome, seconds) applied to every new call
        # How a batch call's calls end (drawn per call, seeded), ahead of auto_outcome for them.
        self.campaign_outcomes: OutcomeMix | None = None
        self.rng = random.Random(0)
        self.webhook_statuses: list[int] = []
        self._server = LocalHTTPServer(("127.0.0.1", port), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> VoiceProviderSimulator:
        threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="voice-simulator", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def register(self, config_id: str, api_key: str, webhook_secret: str) -> None:
        with self._lock:
            self._secrets[config_id] = (api_key, webhook_secret)

    def calls(self) -> list[SimulatedCall]:
        with self._lock:
            return list(self._calls.values())

    def place(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = headers.get("idempotency-key") or str(uuid.uuid4())
        fault = (self.fault(key) if self.fault else None) or Fault()
        if self.delay_seconds or fault.delay_seconds:
            time.sleep(self.delay_seconds + fault.delay_seconds)
        if fault.status and not fault.placed:
            return fault.status, {"error": "injected failure"}
        status, answer = self._place(key, headers, body)
        if fault.status and status < 300:
            return fault.status, {"error": "injected failure after placing the call"}
        return status, answer

    def _place(self, key: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "injected failure"}
            config_id = str(body.get("metadata", {}).get("voice_agent_outbound_config_id"))
            expected = self._secrets.get(config_id, (None, None))[0]
            if expected is not None and headers.get("authorization") != f"Bearer {expected}":
                return 401, {"error": "bad credentials"}
            if key in self._by_key:
                return 200, {"call_id": self._by_key[key], "replayed": True}
            call = SimulatedCall(
                call_id=f"call_{uuid.uuid4().hex[:16]}",
                idempotency_key=key,
                agent_id=str(body.get("agent_id")),
                to_number=str(body.get("to_number")),
                dynamic_variables=body.get("dynamic_variables") or {},
                metadata=body.get("metadata") or {},
                webhook_url=body.get("webhook_url"),
            )
            self._calls[call.call_id] = call
            self._by_key[key] = call.call_id
        ending = self.auto_outcome
        if self.campaign_outcomes and call.metadata.get("batch_call_id"):
            with self._lock:
                ending = self.campaign_outcomes.draw(self.rng)
        if ending:
            outcome, seconds = ending
            threading.Timer(0.5, self.end, args=(call.call_id, outcome, seconds)).start()
        return 201, {"call_id": call.call_id}

    def end(self, call_id: str, outcome: str, seconds: float = 0) -> int:
        """End a call and post its signed outcome; returns the webhook's HTTP status."""
        with self._lock:
            call = self._calls[call_id]
            details = {**OUTCOMES[outcome]}
            if outcome == "conversation":
                details["talk_seconds"] = seconds
            call.ended = details
            secret = self._secrets.get(str(call.metadata.get("voice_agent_outbound_config_id")), (None, None))[1]
        if not call.webhook_url or secret is None:
            return 0
        body = json.dumps({"call_id": call_id, "metadata": call.metadata, **details}).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
        post = urllib_request.Request(call.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib_request.urlopen(post, timeout=10) as answer:
                status = int(answer.status)
        except urllib_request.HTTPError as exc:
            status = exc.code
        self.webhook_statuses.append(status)
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes (see the API's handler)

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _json(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _page(self) -> bool:
                path = self.path.split("?")[0]
                handler = next((h for prefix, h in simulator.pages.items() if path.startswith(prefix)), None)
                if handler is None:
                    return False
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, payload = handler(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return True

            def do_POST(self) -> None:
                if self._page():
                    return
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                headers = {k.lower(): v for k, v in self.headers.items()}
                extra = simulator.routes.get(("POST", "/" + "/".join(parts)))
                if extra is not None:
                    self._reply(*extra(self._json()))
                elif parts == ["calls"]:
                    self._reply(*simulator.place(headers, self._json()))
                elif len(parts) == 3 and parts[0] == "calls" and parts[2] == "end":
                    body = self._json()
                    if parts[1] not in {c.call_id for c in simulator.calls()}:
                        self._reply(404, {"error": "no such call"})
                        return
                    outcome = str(body.get("outcome", "no_answer"))
                    if outcome not in OUTCOMES:
                        self._reply(422, {"error": f"outcome must be one of {sorted(OUTCOMES)}"})
                        return
                    status = simulator.end(parts[1], outcome, float(body.get("seconds", 0)))
                    self._reply(200, {"call_id": parts[1], "webhook_status": status})
                else:
                    self._reply(404, {"error": "not found"})

            def do_GET(self) -> None:
                if self._page():
                    return
                extra = simulator.routes.get(("GET", self.path.split("?")[0].rstrip("/")))
                if extra is not None:
                    self._reply(*extra({}))
                elif self.path.split("?")[0].rstrip("/") == "/calls":
                    self._reply(200, {"calls": [asdict(call) for call in simulator.calls()]})
                else:
                    self._reply(404, {"error": "not found"})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
