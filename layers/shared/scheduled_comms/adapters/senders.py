"""Senders, one per channel, behind the ``Sender`` port: SES v2 email, SNS SMS, HTTP voice provider.

Each turns its provider's answer into a ``SendResult``: a refusal for the provider's rate is
``throttled``; timeouts and 5xx are ``retry``; rejections (bad address, unknown number, other 4xx) and
missing registrations are ``fail``.
"""

from __future__ import annotations

import json
from email.utils import formataddr
from typing import Any

import urllib3
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from scheduled_comms.adapters.aws import sending_client
from scheduled_comms.adapters.directory import DynamoDirectory, SecretsVault
from scheduled_comms.adapters.provider_errors import classify_client_error, classify_transport_error
from scheduled_comms.errors import EndpointRefused, SenderRefused
from scheduled_comms.logic.email_sender import choose_email_sender
from scheduled_comms.logic.endpoints import CheckedEndpoint, EndpointRules, check_endpoint
from scheduled_comms.models.domain import Channel, Communication, SendResult
from scheduled_comms.ports import HostResolver


class SesEmailSender:
    """Email through SES v2 ``SendEmail``, from the sender ``choose_email_sender`` decides."""

    def __init__(
        self,
        directory: DynamoDirectory,
        default_from: str | None,
        client: Any | None = None,
        configuration_set: str | None = None,
    ) -> None:
        self._directory = directory
        self._default_from = default_from
        self._client = client or sending_client("sesv2")
        # Its event destination reports bounces and complaints, each naming the company by the message's tag.
        self._feedback = {"ConfigurationSetName": configuration_set} if configuration_set else {}

    def send(self, row: Communication) -> SendResult:
        payload = row.payload
        try:
            sender = choose_email_sender(self._directory, row.company_id, payload, self._default_from)
        except SenderRefused as exc:
            return SendResult.fail(str(exc))
        to_name = payload.get("to_name")
        recipient = formataddr((to_name, payload["to_email"])) if to_name else payload["to_email"]
        destination: dict[str, Any] = {"ToAddresses": [recipient]}
        if payload.get("cc"):
            destination["CcAddresses"] = payload["cc"]
        body = {"Html": {"Data": payload["html_body"], "Charset": "UTF-8"}}
        if payload.get("text_body"):
            body["Text"] = {"Data": payload["text_body"], "Charset": "UTF-8"}
        extra = {"ReplyToAddresses": [payload["reply_to"]]} if payload.get("reply_to") else {}
        try:
            response = self._client.send_email(
                FromEmailAddress=formataddr((sender.name, sender.address)) if sender.name else sender.address,
                Destination=destination,
                Content={"Simple": {"Subject": {"Data": payload["subject"], "Charset": "UTF-8"}, "Body": body}},
                EmailTags=[
                    {"Name": "communication_id", "Value": row.id},
                    {"Name": "company_id", "Value": row.company_id},
                    {"Name": "mode", "Value": payload.get("mode", "transactional")},
                ],
                **extra,
                **self._feedback,
            )
        except ClientError as exc:
            return classify_client_error(exc)
        except (BotoCoreError, ConnectionError, HTTPClientError) as exc:
            return classify_transport_error(exc)
        return SendResult.sent(str(response["MessageId"]))


class SnsSmsSender:
    """SMS through SNS ``Publish`` from the registered number ``phone_number_id`` names."""

    def __init__(self, directory: DynamoDirectory, client: Any | None = None) -> None:
        self._directory = directory
        self._client = client or sending_client("sns")

    def send(self, row: Communication) -> SendResult:
        payload = row.payload
        number = self._directory.phone_number(row.company_id, payload["phone_number_id"])
        if number is None:
            return SendResult.fail(f"phone_number_id {payload['phone_number_id']} is not a registered sender number")
        try:
            response = self._client.publish(
                PhoneNumber=payload["to_number"],
                Message=payload["message_body"],
                MessageAttributes={
                    "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": number.number},
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                },
            )
        except ClientError as exc:
            return classify_client_error(exc)
        except (BotoCoreError, ConnectionError, HTTPClientError) as exc:
            return classify_transport_error(exc)
        return SendResult.sent(str(response["MessageId"]))


def post_pinned(
    http: urllib3.PoolManager,
    endpoint: CheckedEndpoint,
    body: bytes,
    headers: dict[str, str],
    timeout: urllib3.Timeout,
) -> urllib3.BaseHTTPResponse:
    """POST to the address that was checked, never resolving the host name again (DNS rebinding).

    TLS still names the host: SNI and certificate verification use ``endpoint.host``, and so does the
    Host header. Redirects are not followed (a redirect could lead anywhere).
    """
    tls = {"server_hostname": endpoint.host, "assert_hostname": endpoint.host} if endpoint.scheme == "https" else {}
    pool = http.connection_from_host(str(endpoint.address), endpoint.port, endpoint.scheme, pool_kwargs=tls)
    return pool.urlopen(
        "POST",
        endpoint.target,
        body=body,
        headers={**headers, "Host": endpoint.host_header},
        timeout=timeout,
        retries=False,
        redirect=False,
    )


class HttpVoiceSender:
    """A call through the voice-agent provider's HTTP API.

    Before every call the endpoint is checked again (``check_endpoint``): a host that no longer resolves
    is retried, one that now resolves to a non-public address fails the row; the call then goes to the
    checked address. ``POST <endpoint_url>`` with ``Authorization: Bearer <api key>`` and
    ``Idempotency-Key: <row>:<attempt>``
    (a retry after a crashed tick reuses the crashed attempt's key, so the provider places one call);
    body ``{agent_id, to_number, dynamic_variables, metadata, webhook_url}``; answer ``{"call_id": ...}``.
    """

    def __init__(
        self,
        directory: DynamoDirectory,
        vault: SecretsVault,
        webhook_url: str | None,
        timeout_seconds: float,
        rules: EndpointRules,
        resolver: HostResolver,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._directory = directory
        self._rules = rules
        self._resolver = resolver
        self._vault = vault
        self._webhook_url = webhook_url
        self._timeout = urllib3.Timeout(connect=min(3.0, timeout_seconds), read=timeout_seconds)
        self._http = http or urllib3.PoolManager(maxsize=32)

    @staticmethod
    def idempotency_key(row: Communication) -> str:
        return f"{row.id}:{row.resend_of_attempt or row.attempt_count}"

    def send(self, row: Communication) -> SendResult:
        payload = row.payload
        config_id = payload["voice_agent_outbound_config_id"]
        found = self._directory.voice_config(row.company_id, config_id)
        if found is None:
            return SendResult.fail(f"voice_agent_outbound_config_id {config_id} is not a registered voice-agent config")
        config, secret_arn = found
        try:
            endpoint = check_endpoint(config.endpoint_url, self._rules, self._resolver)
        except EndpointRefused as exc:
            if exc.retryable:
                return SendResult.retry(f"endpoint_url refused: {exc.message}; will retry")
            return SendResult.fail(f"endpoint_url refused: {exc.message}")
        credentials = self._vault.voice_credentials(secret_arn)
        body = {
            "agent_id": config.agent_id,
            "to_number": payload["to_number"],
            "dynamic_variables": payload.get("dynamic_variables") or {},
            "metadata": {
                **(payload.get("metadata") or {}),
                "communication_id": row.id,
                "company_id": row.company_id,
                "voice_agent_outbound_config_id": config_id,
            },
            "webhook_url": self._webhook_url,
        }
        try:
            response = post_pinned(
                self._http,
                endpoint,
                json.dumps(body).encode(),
                {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {credentials.api_key}",
                    "Idempotency-Key": self.idempotency_key(row),
                },
                self._timeout,
            )
        except urllib3.exceptions.HTTPError as exc:
            return classify_transport_error(exc)
        if response.status == 429:
            return SendResult.throttled("voice provider answered 429: too many calls")
        if response.status >= 500:
            return SendResult.retry(f"voice provider answered {response.status}")
        if not 200 <= response.status < 300:
            return SendResult.fail(f"voice provider refused the call ({response.status}): {response.data[:200]!r}")
        try:
            call_id = json.loads(response.data)["call_id"]
        except (ValueError, KeyError, TypeError):
            return SendResult.retry("voice provider answered without a call_id")
        return SendResult.sent(str(call_id))


class ChannelSenders:
    """The ``Sender`` for each channel."""

    def __init__(self, email: Any, sms: Any, voice: Any, push: Any = None, in_app: Any = None) -> None:
        self._by_channel = {
            Channel.EMAIL: email,
            Channel.SMS: sms,
            Channel.VOICE_CALL: voice,
            Channel.PUSH: push,
            Channel.IN_APP: in_app,
        }

    def send(self, row: Communication) -> SendResult:
        sender = self._by_channel[row.channel]
        if sender is None:
            return SendResult.fail(f"no sender for {row.channel.value} in this worker")
        return sender.send(row)
