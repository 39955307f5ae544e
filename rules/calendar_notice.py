"""Read the State Council's yearly holiday notice into an override table (PD2).

Every November or December the General Office of the State Council publishes
《国务院办公厅关于YYYY年部分节假日安排的通知》. Copying its dates by hand into
``rules/data/working_days.toml`` is the one yearly chore of this service, and a slip silently moves
legal deadlines. This module reads the notice's text instead, clause by clause:

- a clause with 放假 / 补休 / 休息 lists days off (``1月1日（周四）至3日（周六）放假调休``);
- a clause with 上班 lists adjusted working days (``2月14日（周六）、2月28日（周六）上班``);
- a sentence that only encourages rest (``鼓励…安排职工在除夕（2月9日）休息``, 2024) sets no day off:
  that day stays a working day; an encouraging sentence that also says 放假 / 上班 is refused;
- every weekday the notice prints (``周四``, ``星期四``) must match the date, every adjusted working
  day must be a Saturday or Sunday, and a clause with dates but neither word is an error.

Anything it cannot read is refused with the clause quoted; a person reviews the result
(``centers calendar --from-notice``) before it goes into the override file. Never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
OFF_WORDS = ("放假", "补休", "休息")
WORK_WORDS = ("上班",)
# Words of a sentence that asks employers to give rest (the 2024 notice: 鼓励各单位…安排职工在除夕休息):
# the day named there is not a public holiday, so the sentence is read for no date.
ENCOURAGE_WORDS = ("鼓励", "倡导", "提倡")
SCHEDULE_WORDS = ("放假", "补休", "上班")

# One date: optional year, optional month (a range end may give the day only), day, and an optional
# parenthesis that may hold lunar text and the weekday: （农历腊月二十八、周日）.
_DATE = r"(?:(?P<{p}y>\d{{4}})年)?(?:(?P<{p}m>\d{{1,2}})月)?(?P<{p}d>\d{{1,2}})日(?:[（(](?P<{p}note>[^）)]*)[）)])?"
_SPAN = re.compile(_DATE.format(p="a") + r"(?:\s*至\s*" + _DATE.format(p="b") + ")?")
_WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")


class NoticeError(ValueError):
    """PD2: the notice text cannot be read with certainty; the message quotes the clause."""


@dataclass
class NoticeDays:
    """PD2: what one notice sets: days off and adjusted working days."""

    year: int
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)

    def breaks(self) -> list[list[date]]:
        """The days off as runs of consecutive days (one holiday break each)."""
        runs: list[list[date]] = []
        for day in sorted(self.holidays):
            if runs and day - runs[-1][-1] == timedelta(days=1):
                runs[-1].append(day)
            else:
                runs.append([day])
        return runs

    def toml(self, source: str) -> str:
        """The year's table for the override file (rules/data/working_days.toml), a break per line."""
        def dates(groups: list[list[date]]) -> str:
            if not groups:
                return "[]"
            return "[\n" + "".join("  " + ", ".join(d.isoformat() for d in g) + ",\n" for g in groups) + "]"

        escaped = source.replace("\\", "\\\\").replace('"', '\\"')
        return (f"[{self.year}]\nsource = \"{escaped}\"\nholidays = {dates(self.breaks())}\n"
                f"workdays = {dates([[d] for d in sorted(self.workdays)])}\n")


def notice_items(text: str) -> str:
    """The numbered items (一、元旦 ... ) only: the title, the dateline, the introduction before them
    and the signature with its date after them hold dates that are not holiday dates."""
    first = text.find("一、")
    if first < 0:
        raise NoticeError("PD2: no numbered item (一、元旦：...) found: paste the notice's text")
    end = text.rfind("国务院办公厅")
    return text[first:end if end > first else len(text)]


def parse_notice(text: str, year: int) -> NoticeDays:
    """PD2: the days off and adjusted working days a notice for ``year`` sets."""
    found = NoticeDays(year)
    for clause in (c.strip() for s in _schedule_sentences(notice_items(text)) for c in re.split(r"[，,]", s)):
        spans = list(_SPAN.finditer(clause))
        if not spans:
            continue
        off = any(w in clause for w in OFF_WORDS)
        work = any(w in clause for w in WORK_WORDS)
        if off == work:
            raise NoticeError(f"PD2: cannot tell whether these dates are days off or working days: 「{clause}」")
        days = [d for span in spans for d in _expand(span, year, clause)]
        target = found.workdays if work else found.holidays
        target.update(days)
    for day in sorted(found.holidays | found.workdays):
        if day.year not in (year - 1, year) or (day.year == year - 1 and day.month != 12):
            raise NoticeError(f"PD2: {day} is outside {year - 1}-12..{year}: is this the notice for {year}?")
    for day in sorted(found.workdays):
        if day.weekday() < 5:
            raise NoticeError(f"PD2: {day} is listed as an adjusted working day (上班) but is a weekday")
    both = found.holidays & found.workdays
    if both:
        raise NoticeError(f"PD2: both a day off and a working day: {sorted(both)}")
    if not found.holidays:
        raise NoticeError(f"PD2: no day off found in the notice for {year}: is this the notice's text?")
    return found


def _schedule_sentences(items: str) -> list[str]:
    """The sentences that set the schedule: one that only encourages rest sets nothing (2024's 除夕)."""
    sentences = []
    for sentence in (s.strip() for s in re.split(r"[。；;\n]", items)):
        if any(w in sentence for w in ENCOURAGE_WORDS):
            if _SPAN.search(sentence) and any(w in sentence for w in SCHEDULE_WORDS):
                raise NoticeError(f"PD2: an encouragement that also sets days off or working days: 「{sentence}」")
            continue
        sentences.append(sentence)
    return sentences


def _expand(span: re.Match[str], year: int, clause: str) -> list[date]:
    """The dates of one match (a single date or a range ``A至B``), weekdays checked."""
    start_month = span["am"]
    if start_month is None:
        raise NoticeError(f"PD2: a date without its month: 「{clause}」")
    end_given = span["bd"] is not None
    end_month = int(span["bm"] or start_month)
    start_year = int(span["ay"] or year)
    end_year = int(span["by"] or (span["ay"] or year))
    if end_given and not span["ay"] and end_month < int(start_month):
        start_year = end_year - 1  # 12月30日至1月1日: the break starts in the previous December
    start = _date(start_year, int(start_month), int(span["ad"]), clause)
    _check_weekday(start, span["anote"], clause)
    if not end_given:
        return [start]
    end = _date(end_year, end_month, int(span["bd"]), clause)
    _check_weekday(end, span["bnote"], clause)
    if end < start or (end - start).days > 14:
        raise NoticeError(f"PD2: the range {start}..{end} is not a holiday break: 「{clause}」")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _date(year: int, month: int, day: int, clause: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise NoticeError(f"PD2: {year}-{month}-{day} is not a date: 「{clause}」") from None


def _check_weekday(day: date, note: str | None, clause: str) -> None:
    """The weekday the notice prints must be the date's: a mismatch means a typo somewhere."""
    printed = _WEEKDAY.search(note or "")
    if printed and WEEKDAYS[printed.group(1)] != day.weekday():
        raise NoticeError(f"PD2: {day} is not a {printed.group(0)} (the notice says so): 「{clause}」")
