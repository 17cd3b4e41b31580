"""Logger and Metrics for every function, the Tracer for those that trace; names come from POWERTOOLS_* variables."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d{6,15}")
_BEARER = re.compile(r"(?i)(bearer\s+|sck_)[A-Za-z0-9_\-\.]+")


def mask_personal_data(text: str) -> str:
    """Replace email addresses, phone numbers and API keys in free text with placeholders."""
    text = _BEARER.sub(r"\1***", text)
    text = _EMAIL.sub("***@***", text)
    return _PHONE.sub("+***", text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with personal data and secrets masked in every record."""

    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return mask_personal_data(super().serialize(log))


# A route that records no metric of its own is normal (health, refused requests).
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(logger_formatter=MaskingFormatter())
metrics = Metrics()
# What X-Ray records as subsegments: AWS calls and the voice provider's HTTP calls (nothing else is called).
TRACED_MODULES = ("botocore", "httplib")


@functools.cache
def tracer() -> Tracer:
    """The X-Ray tracer, for the functions where a trace pays: the tick and the stream consumer, whose time
    splits over many calls to AWS and the voice provider. Building it imports the X-Ray SDK, a cold-start
    cost that the routes and the authorizer (one to three DynamoDB calls each) do not pay."""
    return Tracer(patch_modules=TRACED_MODULES)


Handler = TypeVar("Handler", bound=Callable[..., Any])


def discard_unpublished_metrics(handler: Handler) -> Handler:
    """Clear what ``log_metrics`` left behind: with metrics disabled (locally) it never clears them."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            metrics.clear_metrics()

    return wrapper  # type: ignore[return-value]
