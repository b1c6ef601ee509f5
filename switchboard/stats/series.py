"""The day's curves for the wallboard chart: queue length (the most interactions waiting
at once in each bucket) and service level (cumulative since the daily reset, at the end
of each bucket), per service and for all services together."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Series:
    day_start: datetime
    bucket_seconds: int
    buckets: int
    queue_max: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    in_sl: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)
    short: list[int] = field(default_factory=list)

    def service_level(self, i: int) -> str:
        den = self.answered[i] + self.abandoned[i] - self.short[i]
        return str(math.floor(100.0 * self.in_sl[i] / den + 0.5)) if den > 0 else ""


class SeriesBuilder:
    """Collects queue entries/exits and outcomes, then builds a ``Series``."""

    def __init__(self, day_start: datetime, now: datetime, bucket_seconds: int) -> None:
        self.day_start = day_start
        self.bucket = max(1, bucket_seconds)
        span = max(0.0, (now - day_start).total_seconds())
        self.buckets = max(1, math.floor(span / self.bucket) + 1)
        self.level_at_start = 0
        self.moves: list[tuple[float, int]] = []
        self.answered: list[tuple[int, bool]] = []
        self.abandoned: list[tuple[int, bool]] = []

    def _offset(self, when: datetime) -> float:
        return max(0.0, (when - self.day_start).total_seconds())

    def _index(self, when: datetime) -> int:
        return min(self.buckets - 1, int(self._offset(when) // self.bucket))

    def waiting(self, start: datetime, end: datetime | None) -> None:
        """An interaction waited from ``start`` until ``end`` (None: still waiting)."""
        if start <= self.day_start:
            self.level_at_start += 1
        else:
            self.moves.append((self._offset(start), 1))
        if end is not None and end > self.day_start:
            self.moves.append((self._offset(end), -1))
        elif end is not None:
            self.level_at_start -= 1

    def carried(self, count: int) -> None:
        """Interactions queued before the day began and still waiting."""
        self.level_at_start += max(0, count)

    def answer(self, when: datetime, within_sl: bool) -> None:
        self.answered.append((self._index(when), within_sl))

    def abandon(self, when: datetime, short: bool) -> None:
        self.abandoned.append((self._index(when), short))

    def build(self) -> Series:
        n = self.buckets
        out = Series(self.day_start, self.bucket, n)
        queue = [0] * n
        level = max(0, self.level_at_start)
        moves = sorted(self.moves, key=lambda m: (m[0], m[1]))
        j = 0
        for b in range(n):
            end = (b + 1) * self.bucket
            peak = level
            while j < len(moves) and moves[j][0] < end:
                level = max(0, level + moves[j][1])
                peak = max(peak, level)
                j += 1
            queue[b] = peak
        answered = [0] * n
        in_sl = [0] * n
        abandoned = [0] * n
        short = [0] * n
        for i, ok in self.answered:
            answered[i] += 1
            in_sl[i] += 1 if ok else 0
        for i, is_short in self.abandoned:
            abandoned[i] += 1
            short[i] += 1 if is_short else 0
        for arr in (answered, in_sl, abandoned, short):
            for i in range(1, n):
                arr[i] += arr[i - 1]
        out.queue_max, out.answered, out.in_sl, out.abandoned, out.short = (
            queue,
            answered,
            in_sl,
            abandoned,
            short,
        )
        return out
