"""The SAS results page's filters, read from query parameters: consultation modes and a
day (or an interval) for the slots that count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.errors import InvalidInput
from gateway.search.availability_table import MODE_BITS

#: A day is a day for the regulator, in metropolitan France.
PARIS = ZoneInfo("Europe/Paris")


def consultation_modes(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Modes given comma-separated, repeated (``consultation=VR&consultation=HH``, one
    checkbox per mode), or both."""
    text = ",".join([value] if isinstance(value, str) else value or [])
    if not text:
        return ()
    modes = tuple(sorted({m.strip().upper() for m in text.split(",") if m.strip()}))
    unknown = [m for m in modes if m not in MODE_BITS]
    if unknown or not modes or len(text) > 60:
        raise InvalidInput(
            "consultation must be AMB, VR or HH (comma-separated)", parameter="consultation"
        )
    return modes


def slot_window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """Epoch bounds (inclusive): a date covers its whole day (Paris time)."""
    lower = _bound(start, "slots_from", end_of_day=False)
    upper = _bound(end if end else start if start and _is_date(start) else None, "slots_to",
                   end_of_day=True)  # fmt: skip
    if lower is not None and upper is not None and upper < lower:
        raise InvalidInput("slots_to is before slots_from", parameter="slots_to")
    return lower, upper


def _is_date(text: str) -> bool:
    """A calendar day (``2026-11-23``, or ISO's compact ``20261123``), not an instant."""
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _bound(text: str | None, parameter: str, *, end_of_day: bool) -> int | None:
    if not text:
        return None
    value = text.strip()
    try:
        if _is_date(value):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.min, PARIS)
            if end_of_day:
                moment += timedelta(days=1, seconds=-1)
            return int(moment.timestamp())
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{parameter} must be a date (YYYY-MM-DD) or an ISO 8601 instant",
            parameter=parameter,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PARIS)
    return int(parsed.timestamp())
