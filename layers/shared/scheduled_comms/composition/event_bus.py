"""The event bus: only the stream consumer puts events on it."""

from __future__ import annotations

from scheduled_comms.adapters.events import EventBridgePublisher
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def events() -> EventBridgePublisher:
    return EventBridgePublisher(get_settings().event_bus_name)
