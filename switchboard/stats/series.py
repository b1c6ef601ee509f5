"""The day's curves for the wallboard chart: queue length (the most interactions waiting
at once in each bucket) and service level (cumulative since the daily reset, at the end
of each bucket), per service and for all services together."""

from __future__ import annotations

import math
from collections.abc import Iterable
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


def build_series(
    day_start: datetime,
    now: datetime,
    bucket_seconds: int,
    levels: Iterable[tuple[int, int, int]],
    outcomes: Iterable[tuple[int, int, int, int, int]],
    carried: int,
) -> Series:
    """``levels``: (bucket, highest running level in it, net change in it) from the day's
    queue entries (+1) and exits (-1); ``outcomes``: (bucket, answered, answered within
    the threshold, abandoned in queue, short abandoned); ``carried``: interactions that
    were already waiting when the day began."""
    bucket = max(1, bucket_seconds)
    span = max(0.0, (now - day_start).total_seconds())
    n = max(1, math.floor(span / bucket) + 1)
    out = Series(day_start, bucket, n)
    peak = [0] * n
    net = [0] * n
    seen = [False] * n
    for b, high, change in levels:
        i = min(max(0, b), n - 1)
        peak[i] = max(peak[i], high) if seen[i] else high
        net[i] += change
        seen[i] = True
    queue = [0] * n
    level = 0  # the running level of the day's entries and exits
    for i in range(n):
        start = level
        level += net[i]
        queue[i] = max(0, carried + (max(start, peak[i]) if seen[i] else start))
    answered = [0] * n
    in_sl = [0] * n
    abandoned = [0] * n
    short = [0] * n
    for b, a, sl, ab, sh in outcomes:
        i = min(max(0, b), n - 1)
        answered[i] += a
        in_sl[i] += sl
        abandoned[i] += ab
        short[i] += sh
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
