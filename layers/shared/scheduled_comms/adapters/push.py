"""SNS mobile push: platform endpoints for device tokens, and publishing to them (``PushEndpoints``)."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.aws import sending_client
from scheduled_comms.adapters.provider_errors import RETRYABLE_CODES, classify_client_error, classify_transport_error
from scheduled_comms.errors import FieldError, ProviderUnavailable, ValidationFailed
from scheduled_comms.models.domain import SendResult
from scheduled_comms.models.push import ENDPOINT_DISABLED

# SNS refuses a second endpoint for a token whose endpoint exists with other attributes (a disabled one),
# naming the existing endpoint: AWS's guidance is to take that endpoint and update it.
_EXISTING_ENDPOINT = re.compile(r"Endpoint (arn:aws[a-z-]*:sns:\S+) already exists")


class SnsPushEndpoints:
    """Endpoints through ``CreatePlatformEndpoint``/``SetEndpointAttributes``; pushes through ``Publish``."""

    def __init__(self, client: Any | None = None, sending: Any | None = None) -> None:
        self._client = client
        self._sending = sending

    def _sns(self) -> Any:
        if self._client is None:
            self._client = aws_client("sns")
        return self._client

    def _publisher(self) -> Any:
        if self._sending is None:
            self._sending = sending_client("sns")
        return self._sending

    def ensure_endpoint(self, application_arn: str, token: str, user_data: str) -> str:
        sns = self._sns()
        try:
            try:
                arn = str(
                    sns.create_platform_endpoint(
                        PlatformApplicationArn=application_arn, Token=token, CustomUserData=user_data
                    )["EndpointArn"]
                )
            except ClientError as exc:
                existing = _EXISTING_ENDPOINT.search(str(exc.response.get("Error", {}).get("Message", "")))
                if existing is None:
                    raise
                arn = existing.group(1)
            # A token registered again is live again (the app got it anew): enable its endpoint.
            sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Token": token, "Enabled": "true"})
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            if code in RETRYABLE_CODES or status >= 500 or status == 429:
                raise ProviderUnavailable("SNS did not register the device; try again") from None
            if code in ("InvalidParameter", "InvalidParameterValue"):
                raise ValidationFailed(
                    "token was refused by SNS", [FieldError("token", "was refused by SNS")]
                ) from None
            raise ProviderUnavailable(f"SNS refused the registration ({code})") from None
        except (BotoCoreError, ConnectionError, HTTPClientError):
            raise ProviderUnavailable("SNS did not answer; try again") from None
        return arn

    def delete_endpoint(self, endpoint_arn: str) -> None:
        try:
            self._sns().delete_endpoint(EndpointArn=endpoint_arn)
        except (ClientError, BotoCoreError, ConnectionError, HTTPClientError):
            raise ProviderUnavailable("SNS did not delete the device's endpoint; try again") from None

    def publish(self, endpoint_arn: str, message: dict[str, str], ttl_seconds: int, platform: str) -> SendResult:
        try:
            response = self._publisher().publish(
                TargetArn=endpoint_arn,
                MessageStructure="json",
                Message=json.dumps(message),
                MessageAttributes={
                    f"AWS.SNS.MOBILE.{platform}.TTL": {"DataType": "String", "StringValue": str(ttl_seconds)}
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EndpointDisabled":
                return SendResult.fail(ENDPOINT_DISABLED)
            return classify_client_error(exc)
        except (BotoCoreError, ConnectionError, HTTPClientError) as exc:
            return classify_transport_error(exc)
        return SendResult.sent(str(response["MessageId"]))
