"""Business hours: weekly windows of local wall-clock time in an IANA zone.

A window is open while the local wall clock reads a time in ``[start, end)`` on one of its days. So a
window that starts inside a daylight-saving gap opens when the clock jumps past its start, and in an
overlap (the repeated hour) it is open both times round.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduled_comms.models.business_hours import BusinessHours, Holidays, Weekday

_WEEKDAYS = list(Weekday)
_SEARCH_DAYS = 9


def is_open(
    instant: datetime, hours: BusinessHours, zone_name: str | None = None, holidays: Holidays | None = None
) -> bool:
    """Whether ``instant`` falls inside a window, in ``zone_name`` (else the schedule's own zone), on a day that
    is not one of ``holidays`` there."""
    zone = zone_name or hours.timezone
    local = instant.astimezone(ZoneInfo(zone))
    if holidays is not None and holidays.closes(local.date(), zone):
        return False
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60_000_000
    for window in hours.windows.get(_WEEKDAYS[local.weekday()], []):
        if window.start_minutes <= minute < window.end_minutes:
            return True
    return False


def _first_instant_at_or_after_wall(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant whose local wall time on ``day`` is ``wall`` or later (DST gaps included)."""
    naive = datetime.combine(day, wall)
    candidate = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if candidate.astimezone(zone).replace(tzinfo=None) == naive:
        return candidate  # the wall time exists; fold=0 is its first occurrence
    # ``wall`` falls in a gap: the answer is the transition, between the two folds' readings.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = candidate
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def local_time_instant(local: datetime, zone_name: str) -> datetime:
    """The instant a naive local time means in ``zone_name``, resolved as windows are: a time in a
    daylight-saving gap means the moment the clock jumps past it, a time in a repeated hour its first pass."""
    return _first_instant_at_or_after_wall(local.date(), local.time(), ZoneInfo(zone_name))


def next_window_start(
    instant: datetime, hours: BusinessHours, zone_name: str | None = None, holidays: Holidays | None = None
) -> datetime | None:
    """``instant`` itself if a window is open then, else the start of the next window on a day that is not a
    holiday (None if none ever opens)."""
    if is_open(instant, hours, zone_name, holidays):
        return instant
    zone = ZoneInfo(zone_name or hours.timezone)
    today = instant.astimezone(zone).date()
    best: datetime | None = None
    # Every holiday can push the next open day one further.
    for offset in range(-1, _SEARCH_DAYS + (len(holidays.holidays) if holidays else 0)):
        day = today + timedelta(days=offset)
        for window in hours.windows.get(_WEEKDAYS[day.weekday()], []):
            first = _first_instant_at_or_after_wall(day, window.start_time, zone)
            # In a repeated hour the window opens a second time, at the later reading of the same wall time.
            second = datetime.combine(day, window.start_time).replace(tzinfo=zone, fold=1).astimezone(UTC)
            for start in (first, second):
                if start < instant or (best is not None and start >= best):
                    continue
                if is_open(start, hours, zone_name, holidays):
                    best = start
    return best
