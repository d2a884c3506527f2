"""Partial dates: old records often know only the year, or the year and month. Pure."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone

#: The registry's dates are Vietnam's (UTC+7, no daylight saving time).
VIETNAM_TIME = timezone(timedelta(hours=7))


def today() -> date:
    """Today's date in Vietnam: what "in the future" means for a birth or a death."""
    return datetime.now(VIETNAM_TIME).date()


class InvalidDate(ValueError):
    """Not a date we can record; ``str(exc)`` says why."""


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise InvalidDate("a day without a month is not a date")
        if self.month is not None and not 1 <= self.month <= 12:
            raise InvalidDate(f"month {self.month} does not exist")
        if self.day is not None:
            last = calendar.monthrange(self.year, self.month or 1)[1]
            if not 1 <= self.day <= last:
                raise InvalidDate(f"{self.year:04d}-{self.month:02d} has no day {self.day}")

    @property
    def precision(self) -> str:
        """``"day"``, ``"month"`` or ``"year"``: how much of the date is known."""
        return "day" if self.day is not None else "month" if self.month is not None else "year"

    def earliest(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def isoformat(self) -> str:
        if self.day is not None:
            return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        if self.month is not None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.isoformat()

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.

        :raises InvalidDate: for any other shape or an impossible date (2023-02-30).
        """
        parts = text.strip().split("-")
        if not 1 <= len(parts) <= 3 or len(parts[0]) != 4 or any(
            not p.isascii() or not p.isdigit() for p in parts
        ) or any(len(p) != 2 for p in parts[1:]):
            raise InvalidDate(f"'{text}' is not a date; write YYYY-MM-DD, YYYY-MM or YYYY")
        nums = [int(p) for p in parts]
        if nums[0] < 1:
            raise InvalidDate(f"year {nums[0]} does not exist")
        return cls(nums[0], nums[1] if len(nums) > 1 else None, nums[2] if len(nums) > 2 else None)

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)
