"""The delivery algorithm: each contact of a campaign gets its own call slot (``scheduled_at``) and number.

A local day's window ``[start_time, end_time)`` holds ``max_calls_per_day`` slots spread evenly over the
seconds that actually elapse between its opening and its closing (so a daylight-saving change inside the
window neither squeezes nor bunches them): slot ``k`` of a window of ``S`` seconds with ``n`` slots opens
``k * S // n`` seconds after the window does. Contacts take the free slots in order, day after day.

The plan is a deterministic function of the settings, the start, the contact's index and how many slots of
each day are taken. So planning resumes after a crash: give the planner the contacts not yet planned and,
as ``taken``, each day's ``day_slot + 1`` of the last call planned on it; the slots are those an
uninterrupted run gives. Memory is a few objects per zone and one counter per local day, never per contact.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduled_comms.logic.business_hours import local_time_instant
from scheduled_comms.models.business_hours import Holidays
from scheduled_comms.models.campaigns import Contact, ContactTimezone, DeliverySettings, PhoneRotation
from scheduled_comms.models.values import iana_zone_names


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A contact's slot: ``day_slot`` is its place among the ``local_date``'s slots (for resuming)."""

    index: int
    contact: Contact
    scheduled_at: datetime
    local_date: date
    day_slot: int
    phone_number_id: str


def number_zone(phone_number: str) -> str | None:
    """The zone of an E.164 number's region when ``phonenumbers`` names exactly one, else None."""
    import phonenumbers
    from phonenumbers import timezone as number_timezones

    zones = number_timezones.time_zones_for_number(phonenumbers.parse(phone_number, None))
    return zones[0] if len(zones) == 1 and zones[0] in iana_zone_names() else None


def contact_zone(contact: Contact, settings: DeliverySettings) -> str:
    """The zone a contact's window is read in: the campaign's, or with ``contact_timezone=auto`` the
    contact's own ``timezone``, else its number's zone when unambiguous, else the campaign's."""
    if settings.contact_timezone is ContactTimezone.CAMPAIGN:
        return settings.timezone
    return contact.timezone or number_zone(contact.phone_number) or settings.timezone


def rotated_number(index: int, numbers: Sequence[str], rotation: PhoneRotation, seed: str) -> str:
    """The outbound number of the contact at ``index``: a function of the index alone, so it survives resuming."""
    if rotation is PhoneRotation.SEQUENTIAL:
        return numbers[0]
    if rotation is PhoneRotation.ROUND_ROBIN:
        return numbers[index % len(numbers)]
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return numbers[int.from_bytes(digest, "big") % len(numbers)]


@dataclass(slots=True)
class _Day:
    """One local day's window: it opens at ``opens`` (UTC) and lasts ``seconds``; ``first`` is its first slot
    at or after the start."""

    local_date: date
    opens: datetime
    seconds: int
    slots: int
    first: int


class _Lane:
    """The walk over one zone's working days, from the start's local date on."""

    def __init__(self, zone: str, settings: DeliverySettings, start: datetime, closed: frozenset[date]) -> None:
        self.zone = zone
        self.settings = settings
        self.start = start
        self.closed = closed  # the company's holidays in this zone
        self.day = self._window(start.astimezone(ZoneInfo(zone)).date())

    def _window(self, local_date: date) -> _Day:
        settings = self.settings
        if (
            local_date.isoweekday() not in settings.working_days
            or local_date in settings.excluded_dates
            or local_date in self.closed
        ):
            return _Day(local_date, self.start, 0, 0, 0)
        midnight = datetime.combine(local_date, time())
        opens = local_time_instant(midnight + timedelta(minutes=settings.start_minutes), self.zone)
        closes = local_time_instant(midnight + timedelta(minutes=settings.end_minutes), self.zone)
        seconds = int((closes - opens).total_seconds())
        slots = min(settings.max_calls_per_day, seconds)  # a short daylight-saving day may hold fewer
        late = math.ceil((self.start - opens).total_seconds())  # whole seconds from opening to the start
        first = 0 if late <= 0 or not slots else min(slots, -(-late * slots // seconds))
        return _Day(local_date, opens, seconds, slots, first)

    def next_day(self) -> None:
        self.day = self._window(self.day.local_date + timedelta(days=1))


def plan_calls(
    settings: DeliverySettings,
    contacts: Iterable[tuple[int, Contact]],
    *,
    now: datetime,
    numbers: Sequence[str],
    seed: str,
    taken: Mapping[date, int] | None = None,
    holidays: Holidays | None = None,
) -> Iterator[PlannedCall]:
    """Yield each ``(index, contact)``'s call slot, lazily and in the order given (the order contacts were added).

    Slots start at ``max(settings.scheduled_at, now)``. ``taken`` says how many of each local day's slots are
    used: the calls already placed that day, or when resuming the planner's own ``day_slot + 1``; a day's new
    calls take its slots after those, so no day goes over ``max_calls_per_day``. ``index`` picks the number
    (``numbers``: one or more, in the campaign's order; ``seed``, e.g. the campaign's id, makes ``random``
    reproducible).
    Times are whole seconds, unique within a zone, and in contact order within a zone. With
    ``contact_timezone=auto`` each zone walks its own local days; the cap counts calls by local date.
    """
    start = max(now, settings.scheduled_at or now).astimezone(UTC)
    used = dict(taken or {})
    lanes: dict[str, _Lane] = {}
    for index, contact in contacts:
        zone = contact_zone(contact, settings)
        lane = lanes.get(zone)
        if lane is None:
            lane = lanes[zone] = _Lane(zone, settings, start, holidays.dates_in(zone) if holidays else frozenset())
        while True:
            day = lane.day
            slot = max(used.get(day.local_date, 0), day.first)
            if slot < day.slots:
                break
            lane.next_day()
        used[day.local_date] = slot + 1
        yield PlannedCall(
            index=index,
            contact=contact,
            scheduled_at=day.opens + timedelta(seconds=slot * day.seconds // day.slots),
            local_date=day.local_date,
            day_slot=slot,
            phone_number_id=rotated_number(index, numbers, settings.phone_rotation, seed),
        )


def redistribute(
    settings: DeliverySettings,
    pending: Iterable[tuple[int, Contact]],
    *,
    now: datetime,
    placed: Mapping[date, int],
    numbers: Sequence[str],
    seed: str,
    holidays: Holidays | None = None,
) -> Iterator[PlannedCall]:
    """Re-plan the contacts not yet dialled over new ``settings``, from now.

    The old plan's slots are dropped; only the calls already ``placed`` on each local day (today's, in
    practice) count against that day's cap. Contacts keep their index, so round-robin keeps their numbers.
    """
    return plan_calls(settings, pending, now=now, numbers=numbers, seed=seed, taken=placed, holidays=holidays)
