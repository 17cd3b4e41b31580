"""Provider errors as send outcomes: a refusal for the provider's rate is ``throttled``; timeouts and 5xx are
``retry``; rejections (bad address, unknown number, other 4xx) are ``fail``. Shared by every sender."""

from __future__ import annotations

from botocore.exceptions import ClientError
from scheduled_comms.models.domain import SendResult

# The provider refused for its sending rate: nothing was sent.
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "Throttled", "TooManyRequestsException"})
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
        "LimitExceededException",
        "KMSThrottlingException",
    }
)


def classify_client_error(exc: ClientError) -> SendResult:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    text = f"{code}: {error.get('Message', '')}".strip()[:500]
    if code in THROTTLING_CODES or status == 429:
        return SendResult.throttled(text)
    if code in RETRYABLE_CODES or status >= 500:
        return SendResult.retry(text)
    return SendResult.fail(text)


def classify_transport_error(exc: Exception) -> SendResult:
    return SendResult.retry(f"{type(exc).__name__}: transport error, will retry")
