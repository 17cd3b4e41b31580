"""Powertools idempotency, for the create route's Idempotency-Key."""

from __future__ import annotations

from scheduled_comms.adapters.idempotency import PowertoolsIdempotency
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def idempotency() -> PowertoolsIdempotency:
    settings = get_settings()
    return PowertoolsIdempotency(settings.idempotency_table, settings.idempotency_ttl_seconds)
