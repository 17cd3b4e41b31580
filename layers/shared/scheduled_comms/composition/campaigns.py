"""Campaigns, contact folders and the stored answers of Idempotency-Keys."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.campaigns import (
    DynamoCampaignCallStore,
    DynamoCampaignPlanStore,
    DynamoCampaignStore,
)
from scheduled_comms.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def campaign_store() -> DynamoCampaignStore:
    settings = get_settings()
    return DynamoCampaignStore(settings.communications_table, settings.due_shard_count)


@component
def campaign_call_store() -> DynamoCampaignCallStore:
    settings = get_settings()
    return DynamoCampaignCallStore(settings.communications_table, settings.due_shard_count)


@component
def campaign_plan_store() -> DynamoCampaignPlanStore:
    settings = get_settings()
    return DynamoCampaignPlanStore(settings.communications_table, settings.due_shard_count)


@component
def idempotency_store() -> DynamoIdempotencyStore:
    return DynamoIdempotencyStore(get_settings().communications_table)
