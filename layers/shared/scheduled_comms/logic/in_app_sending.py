"""Sending a rendered in-app message: it lands in the person's inbox (once, however often it is sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from scheduled_comms.models.domain import Communication, SendResult
from scheduled_comms.models.inbox import InboxEntry
from scheduled_comms.ports import InboxStore


class InAppSender:
    """The ``Sender`` of in-app rows, whose payload ``logic.message_sending`` rendered."""

    def __init__(self, inbox: InboxStore, clock: Callable[[], datetime]) -> None:
        self._inbox = inbox
        self._clock = clock

    def send(self, row: Communication) -> SendResult:
        payload = row.payload
        part = payload["in_app"]
        entry = InboxEntry(
            message_id=row.id,
            person_id=payload["person_id"],
            brand_id=payload["brand_id"],
            template_key=payload["template_key"],
            title=part["title"],
            body=part["body"],
            action_url=part.get("action_url") or None,
            landed_at=self._clock(),
        )
        self._inbox.land(row.company_id, entry)  # False: an earlier attempt landed it, which is as good
        return SendResult.sent(f"inbox:{row.id}")
