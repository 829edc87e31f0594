"""Meeting recurrences: local wall-clock time across daylight-saving changes, monthly weekdays,
every-N-weeks, and the messages for wrong input."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedule import LAST, Recurrence, next_meetings, parse_recurrence

JAN_1 = date(2026, 1, 1)
TUE, THU, FRI, SUN = 1, 3, 4, 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(
    weekday: int, hour: int, minute: int, zone: str, weeks: int = 1, starts: date = JAN_1
) -> Recurrence:
    return Recurrence(weekday, time(hour, minute), zone, 60, starts, weeks=weeks)


def local(instants: list[datetime], zone: str) -> list[datetime]:
    return [moment.astimezone(ZoneInfo(zone)) for moment in instants]


# --- Daylight-saving changes, 2026 -----------------------------------------------------------
# Europe/London: forward on Sunday 29 March, back on Sunday 25 October.
# America/New_York: forward on Sunday 8 March, back on Sunday 1 November.


def test_london_spring_forward_keeps_18_30_and_moves_an_hour_earlier_in_utc() -> None:
    got = next_meetings(weekly(TUE, 18, 30, "Europe/London"), utc(2026, 3, 20), 3)
    assert got == [utc(2026, 3, 24, 18, 30), utc(2026, 3, 31, 17, 30), utc(2026, 4, 7, 17, 30)]
    assert all(m.tzinfo is UTC for m in got)
    assert {(m.hour, m.minute) for m in local(got, "Europe/London")} == {(18, 30)}


def test_london_autumn_back_keeps_18_30_and_moves_an_hour_later_in_utc() -> None:
    got = next_meetings(weekly(TUE, 18, 30, "Europe/London"), utc(2026, 10, 15), 3)
    assert got == [utc(2026, 10, 20, 17, 30), utc(2026, 10, 27, 18, 30), utc(2026, 11, 3, 18, 30)]
    assert {(m.hour, m.minute) for m in local(got, "Europe/London")} == {(18, 30)}


def test_new_york_spring_forward_on_its_own_date() -> None:
    got = next_meetings(weekly(THU, 9, 0, "America/New_York"), utc(2026, 3, 1), 3)
    assert got == [utc(2026, 3, 5, 14), utc(2026, 3, 12, 13), utc(2026, 3, 19, 13)]
    assert {m.hour for m in local(got, "America/New_York")} == {9}


def test_new_york_autumn_back_on_its_own_date() -> None:
    got = next_meetings(weekly(THU, 9, 0, "America/New_York"), utc(2026, 10, 25), 3)
    assert got == [utc(2026, 10, 29, 13), utc(2026, 11, 5, 14), utc(2026, 11, 12, 14)]
    assert {m.hour for m in local(got, "America/New_York")} == {9}


def test_between_the_two_changes_a_london_meeting_is_an_hour_later_in_new_york() -> None:
    london = next_meetings(weekly(TUE, 14, 0, "Europe/London"), utc(2026, 3, 1), 5)
    # 3 Mar: 09:00 in New York; 10, 17, 24 Mar: New York has changed and London not yet;
    # 31 Mar: both have.
    assert [m.hour for m in local(london, "America/New_York")] == [9, 10, 10, 10, 9]
    assert [m.hour for m in local(london, "Europe/London")] == [14] * 5


def test_a_time_repeated_by_the_autumn_change_means_one_meeting_at_the_first() -> None:
    got = next_meetings(weekly(SUN, 1, 30, "Europe/London"), utc(2026, 10, 17), 3)
    assert got == [utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)]


def test_a_time_skipped_by_the_spring_change_is_read_with_the_old_offset() -> None:
    got = next_meetings(weekly(SUN, 1, 30, "Europe/London"), utc(2026, 3, 21), 3)
    # 01:30 does not exist on 29 March: the meeting is at 01:30 GMT, 02:30 on the clocks.
    assert got == [utc(2026, 3, 22, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 4, 5, 0, 30)]


# --- Monthly by weekday ----------------------------------------------------------------------


def _first(year: int, month: int, weekday: int) -> date:
    return next(
        date(year, month, d) for d in range(1, 8) if date(year, month, d).weekday() == weekday
    )


def _last(year: int, month: int, weekday: int) -> date:
    end = calendar.monthrange(year, month)[1]
    return next(
        date(year, month, d)
        for d in range(end, end - 7, -1)
        if date(year, month, d).weekday() == weekday
    )


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_monthly_first_tuesday_for_a_year(zone: str) -> None:
    rec = parse_recurrence(f"monthly first tue 18:30 {zone} 120", JAN_1)
    got = local(next_meetings(rec, utc(2025, 12, 31), 12), zone)
    assert [m.date() for m in got] == [_first(2026, month, TUE) for month in range(1, 13)]
    assert {m.timetz().replace(tzinfo=None) for m in got} == {time(18, 30)}


def test_monthly_last_friday_for_a_year() -> None:
    rec = parse_recurrence("monthly last fri 17:00 Europe/London 60", JAN_1)
    got = local(next_meetings(rec, utc(2025, 12, 31), 12), "Europe/London")
    assert [m.date() for m in got] == [_last(2026, month, FRI) for month in range(1, 13)]
    assert {(m.hour, m.minute) for m in got} == {(17, 0)}
    # 27 March is before London's change, 24 April after: the UTC hour moves.
    assert [m.astimezone(UTC).hour for m in got[2:4]] == [17, 16]


def test_monthly_third_weekday() -> None:
    rec = Recurrence(THU, time(12, 0), "UTC", 45, JAN_1, week_of_month=3)
    assert [m.day for m in next_meetings(rec, utc(2026, 1, 1), 3)] == [15, 19, 19]


# --- Every N weeks ---------------------------------------------------------------------------


def test_every_two_weeks_stays_on_its_weekday_counting_from_the_start() -> None:
    rec = parse_recurrence("every 2 weeks thu 09:00 America/New_York 60 from 2026-01-05", JAN_1)
    got = local(next_meetings(rec, utc(2026, 1, 1), 26), "America/New_York")
    first = date(2026, 1, 8)  # the first Thursday on or after 5 January
    assert [m.date() for m in got] == [first + timedelta(weeks=2 * i) for i in range(26)]
    assert {(m.weekday(), m.hour, m.minute) for m in got} == {(THU, 9, 0)}


def test_every_n_weeks_resumes_in_step_from_any_moment() -> None:
    rec = weekly(TUE, 18, 30, "Europe/London", weeks=3)
    everything = next_meetings(rec, utc(2025, 12, 31), 20)
    later = next_meetings(rec, everything[6], 5)  # strictly after the 7th meeting
    assert later == everything[7:12]


def test_nothing_before_the_start_date_and_strictly_after() -> None:
    rec = weekly(TUE, 18, 30, "Europe/London", starts=date(2026, 6, 1))
    assert next_meetings(rec, utc(2026, 1, 1), 1) == [utc(2026, 6, 2, 17, 30)]
    assert next_meetings(rec, utc(2026, 6, 2, 17, 30), 1) == [utc(2026, 6, 9, 17, 30)]
    assert next_meetings(rec, utc(2026, 6, 2, 17, 30), 0) == []


@settings(deadline=None)
@given(
    zone=st.sampled_from(
        ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
    ),
    weekday=st.integers(0, 6),
    hour=st.integers(6, 22),
    minute=st.integers(0, 59),
    weeks=st.integers(1, 12),
    after=st.datetimes(datetime(2025, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_meetings_keep_their_weekday_time_and_interval(
    zone: str, weekday: int, hour: int, minute: int, weeks: int, after: datetime
) -> None:
    rec = weekly(weekday, hour, minute, zone, weeks=weeks)
    got = next_meetings(rec, after, 8)
    assert got[0] > after
    assert got == sorted(set(got))
    days = [m.date() for m in local(got, zone)]
    assert {(m.weekday(), m.hour, m.minute) for m in local(got, zone)} == {(weekday, hour, minute)}
    assert {(b - a).days for a, b in pairwise(days)} == {7 * weeks}
    assert (days[0] - JAN_1).days % (7 * weeks) == (weekday - JAN_1.weekday()) % 7


# --- Wrong input -----------------------------------------------------------------------------


def test_parse_reads_each_kind() -> None:
    assert parse_recurrence("weekly tue 18:30 Europe/London 90", JAN_1) == Recurrence(
        TUE, time(18, 30), "Europe/London", 90, JAN_1
    )
    assert parse_recurrence("Every 2 weeks Thursday 9:00 America/New_York 60", JAN_1) == (
        Recurrence(THU, time(9, 0), "America/New_York", 60, JAN_1, weeks=2)
    )
    assert parse_recurrence("monthly last fri 18:30 Europe/Berlin 120", JAN_1).week_of_month == (
        LAST
    )


def test_describe_says_it_in_words() -> None:
    rec = parse_recurrence("every 2 weeks thu 09:00 America/New_York 60", JAN_1)
    assert rec.describe() == "every 2 weeks on Thursday at 09:00 America/New_York, 60 minutes"
    monthly = parse_recurrence("monthly first tue 18:30 Europe/Berlin 120", JAN_1)
    assert monthly.describe() == "monthly on the first Tuesday at 18:30 Europe/Berlin, 120 minutes"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "say when the set meets"),
        ("daily 18:30 UTC 60", "start with weekly, every N weeks or monthly, not 'daily'"),
        ("weekly tue 18:30 Mars/Olympus 90", "unknown time zone 'Mars/Olympus'"),
        ("weekly tue 18:30 europe/london 90", "unknown time zone 'europe/london'"),
        ("weekly tue 6.30pm UTC 90", "time must be 24-hour hours and minutes like 18:30"),
        ("weekly tue 24:00 UTC 90", "like 18:30, not '24:00'"),
        ("weekly tues 18:30 UTC 90", "weekday must be one of mon, tue, .*, not 'tues'"),
        ("weekly tue 18:30 UTC", "give a weekday, a time, a time zone and a length in minutes"),
        ("weekly tue 18:30 UTC 1h", "length must be whole minutes, like 90, not '1h'"),
        ("weekly tue 18:30 UTC 0", "a meeting lasts 1 to 480 minutes, got 0"),
        ("every 13 weeks tue 18:30 UTC 60", "interval must be 1..12 weeks, got 13"),
        ("every 0 weeks tue 18:30 UTC 60", "interval must be 1..12 weeks, got 0"),
        ("every two weeks tue 18:30 UTC 60", "interval must be 1..12 weeks"),
        ("every 2 days tue 18:30 UTC 60", "say 'every N weeks'"),
        ("monthly fifth tue 18:30 UTC 60", "say which week of the month: first, .*, last"),
        ("weekly tue 18:30 UTC 60 from 5/5/2026", "a day must look like 2026-05-05"),
    ],
)
def test_wrong_text_gets_a_message_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_recurrence(text, JAN_1)


def test_wrong_values_get_one_line_messages() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: Recurrence(7, time(9), "UTC", 60, JAN_1), "weekday must be 0 .* to 6"),
        (lambda: Recurrence(1, time(9, 0, 30), "UTC", 60, JAN_1), "like 18:30"),
        (lambda: Recurrence(1, time(9), "", 60, JAN_1), "unknown time zone ''"),
        (lambda: Recurrence(1, time(9), "../etc", 60, JAN_1), "unknown time zone '../etc'"),
        (lambda: Recurrence(1, time(9), "UTC", 60, JAN_1, week_of_month=5), "1..4 or LAST"),
        (lambda: Recurrence(1, time(9), "UTC", 60, JAN_1, 2, 1), "monthly .* no week interval"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message) as caught:
            make()
        assert "\n" not in str(caught.value)
    rec = weekly(TUE, 9, 0, "UTC")
    with pytest.raises(ValueError, match="after must be an aware datetime"):
        next_meetings(rec, datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="count must be 0 or more, got -1"):
        next_meetings(rec, utc(2026, 1, 1), -1)
