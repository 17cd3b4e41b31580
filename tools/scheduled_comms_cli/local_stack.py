"""The embedded default: moto's server as AWS and the template's routes served over HTTP on localhost.

Requests reach the same Lambda handlers API Gateway would call, as REST proxy events, after the same
REQUEST authorizer (with its cache). Nothing here is a second code path of the service: the handlers
talk to "AWS" through boto3 and AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scheduled_comms_local.gateway import Gateway, make_http_server
from scheduled_comms_local.http_server import POLL_SECONDS, LocalHTTPServer
from scheduled_comms_local.lambda_host import FunctionHost, scheduled_event
from scheduled_comms_local.moto_patches import (
    moto_dynamodb_lock,
    prepare_moto_dispatch,
    prepare_moto_dynamodb,
    prepare_moto_events,
    prepare_moto_sns,
)
from scheduled_comms_local.template import Stack

from scheduled_comms_cli.persistence import StateStore

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


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
        prepare_moto_sns()
        prepare_moto_dispatch()
        app: Any = DomainDispatcherApplication(create_backend_app)
        if on_change is not None:
            from scheduled_comms_cli.persistence import ChangeWatcher

            app = ChangeWatcher(app, on_change)
        # werkzeug's server sets SO_REUSEADDR and a listen backlog of 128 itself.
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), name="moto", daemon=True
        )
        self._in_process = InProcessMoto(f"http://127.0.0.1:{port}", app)

    def start(self) -> MotoServer:
        import botocore.handlers

        self._thread.start()
        # Every botocore session made from now on in this process (the handlers' clients) answers here.
        botocore.handlers.BUILTIN_HANDLERS.append(("before-send", self._in_process))
        self._in_process.enabled = True
        return self

    def stop(self) -> None:
        import botocore.handlers

        self._in_process.enabled = False  # sessions made meanwhile keep the handler: it now lets requests by
        botocore.handlers.BUILTIN_HANDLERS.remove(("before-send", self._in_process))
        self._server.shutdown()
        self._server.server_close()


class InProcessMoto:
    """botocore's last step (``before-send``) for this process's requests to moto's endpoint: moto's app
    answers them in the calling thread.

    The same WSGI app as the server's, so the same answers (the same DynamoDB lock, the same change
    notices for the state on disk), without a socket, two HTTP parses and a thread hand-off each way.
    The handlers still talk to AWS_ENDPOINT_URL through boto3; requests from other processes (the CLI's
    admin commands, a developer's boto3) reach the same app through the port.
    """

    def __init__(self, endpoint_url: str, app: Any) -> None:
        self._prefix = endpoint_url.rstrip("/") + "/"
        self._app = app
        self.enabled = False

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        if not self.enabled or not request.url.startswith(self._prefix):
            return None
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        split = urlsplit(request.url)
        body = request.body
        if body is not None and not isinstance(body, bytes | bytearray | str):
            body = body.read()  # a streamed upload
        environ = EnvironBuilder(
            path=split.path or "/",
            base_url=f"{split.scheme}://{split.netloc}",
            query_string=split.query,
            method=request.method,
            headers=[(k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in request.headers.items()],
            data=body.encode() if isinstance(body, str) else bytes(body or b""),
        ).get_environ()
        content, status, headers = run_wsgi_app(self._app, environ, buffered=True)
        answer_headers = HTTPHeaders()
        for name, value in headers.items():
            answer_headers[name] = value
        return AWSResponse(
            request.url, int(status.split(" ", 1)[0]), answer_headers, MockRawResponse(b"".join(content))
        )


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
    from scheduled_comms_local.template import create_resources

    session = boto3.session.Session()
    create_resources(
        stack,
        session.client("dynamodb"),
        session.client("secretsmanager"),
        session.client("events"),
        sqs=session.client("sqs"),
        kms=session.client("kms"),
    )
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
            # The CLI changes a company's settings from its own process: a create here reads them fresh.
            "DEFAULTS_CACHE_SECONDS": "0",
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
        self._gateway: Gateway | None = None
        self._pumps: list[Any] = []
        self._dispatch_pump: Any = None
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
            pages={"/inbox": self._inbox_page, "/api/": self._api_proxy},
        ).start()
        saved = self._state.load_dev_company() if self._state is not None and restored else None
        if saved is not None:  # the same company, key, number and voice config as before the restart
            company = saved["company"]
            self.simulator.register(**saved["simulator"])
            self.grant_every_scope(company["api_key"])
        else:
            company, simulator = self.create_dev_company(credits)
            if self._state is not None:
                self._state.save_dev_company({"company": company, "simulator": simulator})
        if self._state is not None:
            self._state.start()
            self._state.changed()
        self._host = FunctionHost(self.stack)
        gateway = Gateway(self.stack, self._host)
        self._gateway = gateway
        self._http = make_http_server(gateway, self.api_port)
        threading.Thread(target=self._http.serve_forever, args=(POLL_SECONDS,), name="local-api", daemon=True).start()
        if self.tick_interval > 0:
            threading.Thread(target=self._schedule_ticks, name="tick-schedule", daemon=True).start()
        from scheduled_comms_cli.queues import QueuePump
        from scheduled_comms_cli.streams import StreamPump

        self._pumps = [StreamPump(self.stack, self._host, consumer) for consumer in self.stack.stream_consumers()]
        self._dispatch_pump = QueuePump(self.stack, self._host)
        threading.Thread(target=self._poll_streams, name="stream-pollers", daemon=True).start()
        threading.Thread(target=self._poll_dispatch_queue, name="queue-poller", daemon=True).start()
        # What exists now (modules, models, clients, moto's backends) lives as long as the process: kept out
        # of the collector's sight, a full collection while serving walks only what requests made, instead
        # of the whole startup heap (0.15 to 0.25 s, every request waiting).
        import gc

        gc.collect()
        gc.freeze()
        return company

    @staticmethod
    def grant_every_scope(api_key: str) -> None:
        """The dev key carries every scope, also those added since its state was saved (new resources')."""
        from scheduled_comms.composition import api_key_store
        from scheduled_comms.logic.auth import ALL_SCOPES, key_id_of

        key_id = key_id_of(api_key)
        record = api_key_store().get(key_id) if key_id else None
        if record is not None and set(record.scopes) != set(ALL_SCOPES):
            api_key_store().set_scopes(record.key_id, ALL_SCOPES)

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
        """The tick, then its dispatch workers as the queue's event source mapping starts them (no other
        drain receives in between, so its summary counts its own workers)."""
        from scheduled_comms_cli.queues import run_tick

        assert self._host is not None and self._dispatch_pump is not None
        try:
            return run_tick(
                self._host, self._dispatch_pump, scheduled_event(at or datetime.now(UTC), single_pass)
            ).summary()
        finally:
            self.drain_streams()  # the tick's transitions are on the bus when the command returns

    def _poll_dispatch_queue(self) -> None:
        """Lambda's polling of the dispatch queue, for slices no tick of this stack delivers itself (a tick
        invoked with `scheduled-comms invoke`, say)."""
        assert self._dispatch_pump is not None
        while not self._stopping.wait(STREAM_POLL_SECONDS):
            try:
                self._dispatch_pump.poll()
            except Exception:  # the messages stay in the queue and are delivered at the next poll
                import logging

                logging.getLogger("scheduled_comms_cli").exception("dispatch queue poll failed")

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

    def _inbox_page(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """A person's inbox, as a browser shows it: /inbox?person=<person_id>#token=<their inbox token>."""
        if method != "GET":
            return 405, {"Allow": "GET", "Content-Type": "text/plain"}, b"GET only"
        page = (Path(__file__).parent / "console" / "inbox.html").read_bytes()
        return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}, page

    def _api_proxy(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """The API under the console's own origin (/api/v1/...), so its pages need no CORS: the same gateway,
        authorizer and functions as the API's port."""
        if self._gateway is None:
            return 503, {"Content-Type": "text/plain"}, b"the API is starting"
        status, reply_headers, text = self._gateway.handle(method, path.removeprefix("/api"), headers, body)
        return status, reply_headers, text.encode()

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
