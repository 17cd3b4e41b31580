"""Row transitions worth publishing, read from the table's change stream.

The tick, the cancel route and the voice webhook only write rows; each write that moves a row into a
terminal status is published from the DynamoDB stream record it produced. A crash between a write and
its publish therefore loses nothing: the stream keeps the record until the consumer has published it.
Delivery is at least once per stream record (a retried batch may publish a record again); consumers
deduplicate on the event's ``id`` and ``status``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduled_comms.errors import ServiceError
from scheduled_comms.models.domain import TERMINAL, Communication
from scheduled_comms.ports import EventPublisher

# The statuses whose arrival is published (and the filter criteria of the stream consumer in template.yaml).
PUBLISHED_STATUSES = TERMINAL


class EventNotPublished(ServiceError):
    """EventBridge refused the event; the stream record is reported failed and delivered again."""

    code = "event_not_published"


@dataclass(frozen=True)
class RowChange:
    """One stream record of a row: its image before and after the write (None when there was none)."""

    old: Communication | None
    new: Communication | None


def transition_to_publish(change: RowChange) -> Communication | None:
    """The row as it arrived in a terminal status, or None when the change is not such an arrival.

    A write that keeps a finished row finished (a call outcome recorded on a dispatched row) is not one.
    """
    new, old = change.new, change.old
    if new is None or new.status not in PUBLISHED_STATUSES:
        return None
    if old is not None and old.status in PUBLISHED_STATUSES:
        return None
    return new


def publish_change(change: RowChange, events: EventPublisher) -> Communication | None:
    """Publish the change's transition, if it is one; raises ``EventNotPublished`` if the bus refused it."""
    row = transition_to_publish(change)
    if row is None:
        return None
    if events.publish([row]):
        raise EventNotPublished(f"the bus refused the {row.status.value} event of row {row.id}")
    return row
