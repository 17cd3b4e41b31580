"""Campaigns, contact folders and the stored answers of Idempotency-Keys."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.campaigns import DynamoCampaignStore
from scheduled_comms.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def campaign_store() -> DynamoCampaignStore:
    return DynamoCampaignStore(get_settings().communications_table)


@component
def idempotency_store() -> DynamoIdempotencyStore:
    return DynamoIdempotencyStore(get_settings().communications_table)
