"""Ports the logic depends on; adapters implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from scheduled_comms.models.domain import ApiKeyRecord, Communication, ListFilters, Page


class CommunicationStore(Protocol):
    """Rows of one company at a time; every method is scoped by ``company_id``."""

    def create(self, row: Communication) -> int:
        """Store a new row and spend one of the company's credits in the same transaction.

        Returns the credits left. Raises ``InsufficientCredits`` (nothing written) at zero.
        """
        ...

    def get(self, company_id: str, row_id: str) -> Communication | None: ...

    def list(self, company_id: str, filters: ListFilters, limit: int, after_id: str | None) -> Page:
        """Newest first; ``Page.next_after_id`` is None on the last page."""
        ...

    def update_pending(self, row: Communication, changes: dict[str, Any], now: datetime) -> Communication:
        """Apply ``changes`` to ``row`` on condition that it is still pending.

        Raises ``NotFound`` or ``NotPending`` when the stored row has moved on.
        """
        ...

    def cancel_pending(self, row: Communication, now: datetime) -> Communication:
        """Soft-cancel ``row`` on condition that it is still pending. Raises ``NotFound`` or ``NotPending``."""
        ...


class CreditLedger(Protocol):
    def balance(self, company_id: str) -> int: ...


class IdempotencyGuard(Protocol):
    def run(self, scope: str, key: str, body: Any, operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run ``operation`` once per (scope, key); replay its stored result for the same body.

        Raises ``IdempotencyKeyReused`` for the same key with another body and
        ``IdempotencyInProgress`` while the first call is still running.
        """
        ...


class ApiKeyStore(Protocol):
    def put(self, record: ApiKeyRecord) -> None: ...

    def get(self, key_id: str) -> ApiKeyRecord | None: ...


class EventPublisher(Protocol):
    def publish(self, rows: Iterable[Communication]) -> int:
        """Publish each row's transition to the event bus; returns how many were refused."""
        ...
