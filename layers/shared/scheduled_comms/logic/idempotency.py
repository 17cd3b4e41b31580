"""Idempotency of POSTs that create nothing a transaction can hold the key in (campaign routes).

A request with a key runs once: the key is held first (in progress), the answer stored when the request
succeeds, and released when it fails (so the client may retry it). The same key again with the same
request answers the stored answer; with another request (another body, or another route) it is
``IdempotencyKeyReused``; while the first is still running it is a ``Conflict`` to retry.
Keys share the company's namespace with those of ``POST /scheduled-communications``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from scheduled_comms.errors import Conflict, FieldError, IdempotencyKeyReused, ServiceError, ValidationFailed
from scheduled_comms.logic.communications import MAX_IDEMPOTENCY_KEY
from scheduled_comms.models.domain import IdempotencyClaim
from scheduled_comms.ports import IdempotencyStore

# The spec's name for the header and this service's: both are honoured, on every POST.
KEY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")

Answer = tuple[int, Any]


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """The request's key, from either header; both given must agree."""
    given = {name: headers.get(name) for name in KEY_HEADERS if headers.get(name) is not None}
    if len(set(given.values())) > 1:
        raise ValidationFailed(
            "Idempotency-Key and X-Idempotency-Key differ",
            [FieldError("X-Idempotency-Key", "must equal Idempotency-Key when both are given")],
        )
    if not given:
        return None
    name, key = next(iter(given.items()))
    if not 1 <= len(key or "") <= MAX_IDEMPOTENCY_KEY or not (key or "").isprintable():
        raise ValidationFailed(
            f"Invalid {name}", [FieldError(name, f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")]
        )
    return key


def request_claim(key: str | None, route: str, body: Any, now: datetime, ttl: timedelta) -> IdempotencyClaim | None:
    """The claim of a request: its key and the SHA-256 of its route and body."""
    if key is None:
        return None
    text = json.dumps({"route": route, "body": body}, sort_keys=True, separators=(",", ":"))
    return IdempotencyClaim(key, hashlib.sha256(text.encode()).hexdigest(), now + ttl)


def run_once(
    store: IdempotencyStore, company_id: str, claim: IdempotencyClaim | None, now: datetime, run: Callable[[], Answer]
) -> Answer:
    """``run()`` once per claim: a repeat answers what the first answered."""
    if claim is None:
        return run()
    held = store.hold(company_id, claim, now)
    if held is not None:
        if held.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request")
        if held.answer is None:
            raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly")
        return held.answer
    try:
        answer = run()
    except ServiceError:
        store.release(company_id, claim)
        raise
    store.complete(company_id, claim, answer)
    return answer
