"""The campaign's calendar: an injectable clock, the daily window, the cap's day, gaps, templates.

Pure functions of their arguments (times are naive UTC ``datetime`` values, like the database's;
windows are ``"HH:MM"`` in the tenant's zone), except :class:`Clock`, the only place that reads
real time or arms real timers — tests pass a manual clock instead and never sleep.
"""
from __future__ import annotations

import datetime
import random
import re
import zoneinfo

import gevent

from storage.models import utcnow

UTC = datetime.timezone.utc
# {{name}} / {{greeting}} (Izing's), any case, and their Portuguese names {{nome}} / {{saudação}}
_PLACEHOLDER = re.compile(r"\{\{\s*(name|nome|greeting|sauda[cç][aã]o)\s*\}\}", re.IGNORECASE)


class Clock:
    """Real time. ``now()``: naive UTC. ``call_later(seconds, fn)``: a gevent timer; returns a
    handle with ``cancel()``. A test clock has the same two methods and moves when told."""

    def now(self) -> datetime.datetime:
        return utcnow()

    def call_later(self, seconds: float, fn) -> "_Timer":
        return _Timer(gevent.spawn_later(max(0.0, seconds), fn))


class _Timer:
    def __init__(self, greenlet: gevent.Greenlet) -> None:
        self.greenlet = greenlet

    def cancel(self) -> None:
        self.greenlet.kill(block=False)


def parse_hhmm(text: str) -> int:
    """``"HH:MM"`` → minutes after midnight. Raises ValueError."""
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text or "")
    if not match:
        raise ValueError(f"{text!r} is not a HH:MM time")
    return int(match.group(1)) * 60 + int(match.group(2))


def local(now: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return now.replace(tzinfo=UTC).astimezone(tz)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def window_wait(now: datetime.datetime, tz: zoneinfo.ZoneInfo, start: str | None,
                end: str | None) -> datetime.datetime | None:
    """None when ``now`` is inside the daily window ``[start, end)`` (local time; ``start >
    end`` crosses midnight; no window, or ``start == end``, which the API refuses: always open);
    else the UTC time the window next opens, always after ``now`` (see :func:`_first_after` for
    the days a DST change repeats or skips an hour)."""
    if not start or not end or start == end:
        return None
    opens, closes = parse_hhmm(start), parse_hhmm(end)
    here = local(now, tz)
    minute = here.hour * 60 + here.minute + here.second / 60
    inside = opens <= minute < closes if opens < closes else (minute >= opens or minute < closes)
    if inside:
        return None
    day = here.date() if minute < opens else here.date() + datetime.timedelta(days=1)
    return _first_after(now, datetime.datetime.combine(day, datetime.time(opens // 60,
                                                                          opens % 60), tz))


def _first_after(now: datetime.datetime, wall: datetime.datetime) -> datetime.datetime:
    """The UTC instant of the local ``wall`` time that is after ``now``: in the hour a DST
    change repeats, its second occurrence once the first has passed (never an instant in the
    past, which a waiting campaign would wake for at once, again and again). A wall time that
    a DST change skips is read with the offset before the change (an hour later on that day)."""
    first = _utc(wall.replace(fold=0))
    return first if first > now else max(first, _utc(wall.replace(fold=1)))


def day_bounds(now: datetime.datetime,
               tz: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
    """The UTC ``[start, end)`` of the local day that contains ``now`` (the daily cap's day)."""
    today = local(now, tz).date()
    start = datetime.datetime.combine(today, datetime.time(), tz)
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), tz)
    return _utc(start), _utc(end)


def gap(delay: float, jitter: float, rng: random.Random) -> float:
    """Seconds between two recipients: ``delay`` plus ``uniform(0, jitter)`` — the delay is a
    floor, the jitter only adds (so no two sends are ever closer than ``delay``)."""
    return max(0.0, delay) + rng.uniform(0.0, max(0.0, jitter))


def greeting(now: datetime.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """``{{greeting}}``: Bom dia (05–11h), Boa tarde (12–17h), Boa noite — local time."""
    hour = local(now, tz).hour
    return "Bom dia" if 5 <= hour < 12 else "Boa tarde" if 12 <= hour < 18 else "Boa noite"


_NO_NAME = "\x00"  # where an empty {{name}} was (API text never holds NUL)
_NAMELESS = (  # the punctuation that only made sense around the name goes with it
    (re.compile(r"[,;:]?[ \t]*\x00[ \t]*(?=[.!?])"), ""),      # "Boa tarde, {{name}}!"
    (re.compile(r"^[ \t]*\x00[ \t]*[,;:]?[ \t]*", re.M), ""),  # "{{name}}, temos…"
    (re.compile(r"[ \t]*\x00[ \t]*(?=[,;:])"), ""),            # "Oi {{name}}, tudo bem?"
    (re.compile(r"[ \t]*\x00"), ""),                            # "Olá {{name}} tudo"
)


def render(template: str, name: str, greeting_text: str) -> str:
    """Fill ``{{name}}`` and ``{{greeting}}`` (any case, spaces inside the braces allowed;
    ``{{nome}}`` and ``{{saudação}}`` too); other text, including unknown ``{{…}}``, is left as
    written. A recipient without a name loses the
    placeholder with the space and comma around it: ``"Boa tarde, {{name}}!"`` → ``"Boa
    tarde!"``, never ``"Boa tarde, !"``."""
    values = {"name": name.strip() or _NO_NAME, "greeting": greeting_text}
    text = _PLACEHOLDER.sub(
        lambda m: values["name" if m.group(1)[0] in "nN" else "greeting"], template)
    if _NO_NAME in text:
        for pattern, replacement in _NAMELESS:
            text = pattern.sub(replacement, text)
    return text


def pick_variant(messages: list[str | None], rng: random.Random) -> tuple[int, str]:
    """One of the non-empty variants at random: ``(1-based variant number, template)``."""
    present = [(n, text) for n, text in enumerate(messages, 1) if text]
    return rng.choice(present)
