"""A company's business hours: default zone and weekly windows (default Mon-Fri 09:00-17:00)."""

from __future__ import annotations

import itertools
from datetime import date, time
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator
from scheduled_comms.models.base import Model
from scheduled_comms.models.values import IanaTimezone

DEFAULT_TIMEZONE = "UTC"  # a company's zone until it sets its business hours


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class TimeWindow(Model):
    """``start`` to ``end`` in local wall time, ``HH:MM``; ``end`` may be ``24:00``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]
    end: Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["17:00"])]

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end_minutes <= self.start_minutes:
            raise ValueError("end must be later than start (windows do not cross midnight; split them)")
        return self

    @property
    def start_minutes(self) -> int:
        hours, minutes = self.start.split(":")
        return int(hours) * 60 + int(minutes)

    @property
    def end_minutes(self) -> int:
        hours, minutes = self.end.split(":")
        return int(hours) * 60 + int(minutes)

    @property
    def start_time(self) -> time:
        return time(self.start_minutes // 60, self.start_minutes % 60)


def _default_windows() -> dict[Weekday, list[TimeWindow]]:
    workday = [TimeWindow(start="09:00", end="17:00")]
    return {day: list(workday) for day in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)}


class BusinessHours(Model):
    """The company default; a row's own ``timezone`` overrides the zone, never the windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: IanaTimezone = DEFAULT_TIMEZONE
    windows: dict[Weekday, Annotated[list[TimeWindow], Field(max_length=6)]] = Field(default_factory=_default_windows)

    @field_validator("windows")
    @classmethod
    def _some_window_without_overlaps(cls, windows: dict[Weekday, list[TimeWindow]]) -> dict[Weekday, list[TimeWindow]]:
        if not any(windows.values()):
            raise ValueError("at least one window is needed; rows that ignore hours use respect_business_hours=false")
        for day, day_windows in windows.items():
            ordered = sorted(day_windows, key=lambda w: w.start_minutes)
            for before, after in itertools.pairwise(ordered):
                if after.start_minutes < before.end_minutes:
                    raise ValueError(f"windows on {day.value} overlap")
            windows[day] = ordered
        return windows


class BusinessHoursResponse(Model):
    """The company's business hours, in the ``{"data": ...}`` envelope every resource uses."""

    data: BusinessHours


class Holiday(Model):
    """A local date the company is closed: in every zone, or only in the zones named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timezones: Annotated[list[IanaTimezone], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="only in these zones (a company spanning zones); absent: wherever its rows are"
    )


class Holidays(Model):
    """The company's closed days: rows that respect business hours, and batch calls, treat them as closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: Annotated[list[Holiday], Field(max_length=400)] = Field(default_factory=list)

    def closes(self, day: date, zone_name: str) -> bool:
        """Whether ``day`` (a local date in ``zone_name``) is a holiday there."""
        return any(h.date == day and (h.timezones is None or zone_name in h.timezones) for h in self.holidays)

    def dates_in(self, zone_name: str) -> frozenset[date]:
        return frozenset(h.date for h in self.holidays if h.timezones is None or zone_name in h.timezones)


class HolidaysResponse(Model):
    data: Holidays
