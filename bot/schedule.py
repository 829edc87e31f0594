"""Meeting recurrences: weekly, every N weeks, or monthly by weekday, at a local time.

Pure: the moment to count from comes in as an argument. Meetings keep their local wall-clock
time across daylight-saving changes, so their UTC instants move by the change. APScheduler's
CronTrigger finds the days; the local time on each day is resolved with zoneinfo:
- a time the clocks skip that day (spring forward) is read with the offset from before the
  change, so the meeting starts when the clocks show an hour later;
- a time that happens twice (autumn back) means the first of the two, and the meeting is held
  once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LAST = -1
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": LAST}
_CRON_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", LAST: "last"}
MAX_WEEKS = 12
MAX_MINUTES = 480
EXAMPLE = "weekly tue 18:30 Europe/London 90"


@dataclass(frozen=True, slots=True)
class When:
    """How often, on which day, at what local time, in which zone and for how long a set meets:
    a recurrence still without the day it starts from (a `/peer schedule add` request carries
    this; the day is known only where today is)."""

    weekday: int
    at: time
    zone: str
    minutes: int
    weeks: int = 1
    week_of_month: int | None = None

    def __post_init__(self) -> None:
        _check(self.weekday, self.at, self.zone, self.minutes, self.weeks, self.week_of_month)

    def starting(self, starts: date) -> Recurrence:
        return Recurrence(
            self.weekday, self.at, self.zone, self.minutes, starts, self.weeks, self.week_of_month
        )


@dataclass(frozen=True)
class Recurrence:
    """When a set meets.

    weekday: 0 = Monday .. 6 = Sunday. at: the local wall-clock time (hours and minutes).
    zone: an IANA time-zone name. minutes: the meeting's length. starts: the first local day a
    meeting may fall on; every-N-weeks meetings count their weeks from the first such weekday.
    weeks: meet every this many weeks (1..12). week_of_month: None for weekly meetings, or
    1..4 or LAST for "the first/.../last <weekday> of the month".
    """

    weekday: int
    at: time
    zone: str
    minutes: int
    starts: date
    weeks: int = 1
    week_of_month: int | None = None

    def __post_init__(self) -> None:
        _check(self.weekday, self.at, self.zone, self.minutes, self.weeks, self.week_of_month)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.zone)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def describe(self) -> str:
        """In words, e.g. 'every 2 weeks on Thursday at 09:00 America/New_York, 60 minutes'."""
        day = WEEKDAY_NAMES[self.weekday].capitalize()
        if self.week_of_month is not None:
            nth = next(word for word, n in ORDINALS.items() if n == self.week_of_month)
            when = f"monthly on the {nth} {day}"
        elif self.weeks == 1:
            when = f"weekly on {day}"
        else:
            when = f"every {self.weeks} weeks on {day}"
        return f"{when} at {self.at:%H:%M} {self.zone}, {self.minutes} minutes"


def _check(
    weekday: int, at: time, zone: str, minutes: int, weeks: int, week_of_month: int | None
) -> None:
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday}")
    if at.tzinfo is not None or at.second or at.microsecond:
        raise ValueError("the time is a local hour and minute, like 18:30, without a zone")
    _zone(zone)
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"a meeting lasts 1 to {MAX_MINUTES} minutes, got {minutes}")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"interval must be 1..{MAX_WEEKS} weeks, got {weeks}")
    if week_of_month is not None:
        if week_of_month not in _CRON_ORDINALS:
            raise ValueError(f"week of the month must be 1..4 or LAST, got {week_of_month}")
        if weeks != 1:
            raise ValueError("a monthly meeting has no week interval: leave weeks at 1")


def next_meetings(recurrence: Recurrence, after: datetime, count: int) -> list[datetime]:
    """The next `count` meeting starts strictly after `after`, as aware UTC datetimes."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime, e.g. in UTC")
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    tz = recurrence.tz
    trigger = _trigger(recurrence, tz)
    anchor = recurrence.starts + timedelta(
        days=(recurrence.weekday - recurrence.starts.weekday()) % 7
    )
    # Search from the later of `after` and the start of the first day meetings may fall on.
    search = max(after.astimezone(UTC), datetime.combine(recurrence.starts, time(), tz))
    found: list[datetime] = []
    while len(found) < count:
        fire: datetime = trigger.get_next_fire_time(None, search)
        day = fire.astimezone(tz).date()
        # One meeting a day at most: search again from the next local day.
        search = datetime.combine(day + timedelta(days=1), time(), tz)
        if (day - anchor).days % (7 * recurrence.weeks):
            continue
        start = datetime.combine(day, recurrence.at, tz).astimezone(UTC)
        if start > after:
            found.append(start)
    return found


def parse_recurrence(text: str, starts: date) -> Recurrence:
    """Read a recurrence from the command line; `starts` is used unless the text says 'from'."""
    when, given = parse_when(text)
    return when.starting(given or starts)


def parse_when(text: str) -> tuple[When, date | None]:
    """Read when a set meets, and the day it starts from if the text says 'from'.

    'weekly tue 18:30 Europe/London 90', 'every 2 weeks thu 09:00 America/New_York 60',
    'monthly first tue 18:30 Europe/Berlin 120', each optionally ending 'from 2026-05-05'.
    Raises ValueError saying what is wrong and what is right.
    """
    words = text.split()
    starts = None
    if len(words) >= 2 and words[-2].lower() == "from":
        starts = parse_day(words[-1])
        words = words[:-2]
    if not words:
        raise ValueError(f"say when the set meets, e.g. '{EXAMPLE}'")
    head = words[0].lower()
    weeks, week_of_month = 1, None
    if head == "weekly":
        rest = words[1:]
    elif head == "every":
        if len(words) < 3 or words[2].lower() not in ("week", "weeks"):
            raise ValueError("say 'every N weeks', e.g. 'every 2 weeks thu 09:00 UTC 60'")
        weeks = _parse_int(words[1], f"interval must be 1..{MAX_WEEKS} weeks, like 'every 2 weeks'")
        rest = words[3:]
    elif head == "monthly":
        nth = words[1].lower() if len(words) > 1 else ""
        if nth not in ORDINALS:
            raise ValueError(
                f"say which week of the month: {', '.join(ORDINALS)}, e.g. 'monthly first tue'"
            )
        week_of_month = ORDINALS[nth]
        rest = words[2:]
    else:
        raise ValueError(
            f"start with weekly, every N weeks or monthly, not {words[0]!r}, e.g. '{EXAMPLE}'"
        )
    if len(rest) != 4:
        raise ValueError(
            f"after {' '.join(words[: len(words) - len(rest)])!r} give a weekday, a time, "
            f"a time zone and a length in minutes, e.g. 'tue 18:30 Europe/London 90'"
        )
    day, clock, zone, length = rest
    when = When(
        weekday=_parse_weekday(day),
        at=parse_clock(clock),
        zone=zone,
        minutes=_parse_int(length, f"length must be whole minutes, like 90, not {length!r}"),
        weeks=weeks,
        week_of_month=week_of_month,
    )
    return when, starts


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name like Europe/London"
        ) from None


def _trigger(recurrence: Recurrence, tz: ZoneInfo) -> CronTrigger:
    day_of_week = WEEKDAYS[recurrence.weekday]
    at = recurrence.at
    if recurrence.week_of_month is None:
        return CronTrigger(day_of_week=day_of_week, hour=at.hour, minute=at.minute, timezone=tz)
    day = f"{_CRON_ORDINALS[recurrence.week_of_month]} {day_of_week}"
    return CronTrigger(day=day, hour=at.hour, minute=at.minute, timezone=tz)


def _parse_weekday(word: str) -> int:
    lowered = word.lower()
    for i, (short, full) in enumerate(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)):
        if lowered in (short, full):
            return i
    raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}, not {word!r}")


def parse_clock(word: str) -> time:
    """A local time of day, 00:00 to 23:59, in ASCII digits."""
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", word)
    if match is None:
        raise ValueError(f"time must be 24-hour hours and minutes like 18:30, not {word!r}")
    return time(int(match[1]), int(match[2]))


def parse_day(word: str) -> date:
    """A day written YYYY-MM-DD in ASCII digits."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", word):
            raise ValueError
        return date.fromisoformat(word)
    except ValueError:
        raise ValueError(f"a day must look like 2026-05-05, not {word!r}") from None


def _parse_int(word: str, message: str) -> int:
    # ASCII digits only, and few of them: `\d` would take '²', which int() refuses.
    if not re.fullmatch(r"[0-9]{1,6}", word):
        raise ValueError(message)
    return int(word)
