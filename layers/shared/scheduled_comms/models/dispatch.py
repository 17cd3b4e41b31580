"""What the tick hands its workers, and whose send quota a send draws on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field
from scheduled_comms.models.base import Model


class DispatchSlice(Model):
    """One worker's share of a tick: the due shards it dispatches, as of the tick's time.

    ``at`` is the tick's clock when it handed the slice out; the worker adds the time the slice spent in
    the queue, so every worker of one tick keeps the same clock.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    shards: Annotated[tuple[int, ...], Field(min_length=1)]
    single_pass: bool = False


@dataclass(frozen=True)
class RateScope:
    """A send quota shared by every worker: a provider's (``company_id`` None) or one company's on it."""

    provider: str  # "ses", "sns", "voice"
    company_id: str | None = None
