"""What every campaign POST handler does around its use case: the caller, logged with what the route names, and
the request answered once per Idempotency-Key (``post_once``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from scheduled_comms.composition.campaigns import idempotency_store
from scheduled_comms.http.resolver import current_caller, json_response
from scheduled_comms.logic.campaigns.service import post_once
from scheduled_comms.models.domain import Caller, now_utc
from scheduled_comms.observability import logger
from scheduled_comms.settings import get_settings


def answer_once(
    router: Router,
    route: str,
    body: Any,
    status: int,
    run: Callable[[Caller, datetime], BaseModel],
    **log_keys: str,
) -> Response:
    """``run(caller, now)``'s answer with ``status``; a repeat of the request (same key, same ``route`` and
    ``body``) gets the stored answer."""
    caller = current_caller(router)
    logger.append_keys(company_id=caller.company_id, **log_keys)
    now = now_utc()
    ttl = timedelta(seconds=get_settings().idempotency_ttl_seconds)
    headers = router.current_event.headers
    answer = post_once(idempotency_store(), caller, headers, route, body, now, ttl, status, lambda: run(caller, now))
    return json_response(*answer)
