"""Cron expressions as Node-RED writes them, evaluated with APScheduler 3's CronTrigger.

APScheduler 3's `CronTrigger.from_crontab` reads day-of-week 0 as Monday; in cron (and in
Node-RED) 0 and 7 are Sunday. We translate the day-of-week field into day names first, so
`0 8 * * 0` fires on Sundays. Five fields (minute first) or six (seconds first) are accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_NAMED = {d: i for i, d in enumerate(_DAYS)}


class CronError(ValueError):
    pass


def _dow_number(token: str) -> int:
    t = token.strip().lower()[:3]
    if t in _NAMED:
        return _NAMED[t]
    if not t.isdigit() or int(t) > 7:
        raise CronError(f"bad day of week {token!r}")
    return int(t) % 7


def _translate_dow(field: str) -> str:
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step in day of week {field!r}")
            step = int(step_text)
        if part in ("*", "?"):
            lo, hi = 0, 6
        elif "-" in part:
            a, b = part.split("-", 1)
            lo, hi = _dow_number(a), _dow_number(b)
            if b.strip() == "7":
                hi = 7
        else:
            lo = hi = _dow_number(part)
            if step > 1:
                hi = 6
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def compile_cron(expr: str, timezone: Any = None) -> Any:
    """A CronTrigger for a 5- or 6-field cron string; raises CronError with a clear reason."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) == 5:
        second, (minute, hour, day, month, dow) = "0", fields
    elif len(fields) == 6:
        second, minute, hour, day, month, dow = fields
    else:
        raise CronError(f"cron expression {expr!r} must have 5 or 6 fields, has {len(fields)}")
    if re.search(r"[^\w*/,\-?]", expr.replace(" ", "")):
        raise CronError(f"cron expression {expr!r} has unexpected characters")
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=None if day == "?" else day,
                           month=month, day_of_week=_translate_dow(dow), timezone=timezone)
    except (ValueError, TypeError) as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}") from exc


def next_fire(trigger: Any, after_epoch: float) -> float | None:
    """Epoch seconds of the next firing strictly after `after_epoch`, or None."""
    tz = trigger.timezone
    now = dt.datetime.fromtimestamp(after_epoch, tz=tz)
    nxt = trigger.get_next_fire_time(None, now + dt.timedelta(microseconds=1))
    return nxt.timestamp() if nxt is not None else None
