"""What every benchmark prints: medians with their range, the ratio and the goal.

The benchmarks measure; they never assert. A missed goal is printed as such.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

import attrs


@attrs.frozen
class Summary:
    """Repeated measurements of one thing: the median, and the range around it."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def per_second(rate: float) -> str:
    return f"{rate:,.0f}/s"


def report(
    title: str,
    notes: Sequence[str],
    rows: Sequence[tuple[str, Summary]],
    unit: Callable[[float], str],
    verdicts: Sequence[tuple[str, str, str | None, bool]],
    extra: Sequence[str] = (),
) -> None:
    """Print ``rows`` (label, summary) as a table, then each figure against its goal.

    ``verdicts`` holds (label, value, goal, met): a ratio, or a figure whose goal is
    absolute; a goal of None prints the value alone. ``extra`` lines follow, for
    figures measured apart from the table.
    """
    table = [("", "median", "range", "runs")] + [
        (label, unit(s.median), f"{unit(s.low)} .. {unit(s.high)}", str(s.count))
        for label, s in rows
    ]
    widths = [max(len(row[column]) for row in table) for column in range(4)]

    print(title)
    print("=" * len(title))
    for note in notes:
        print(note)
    print()
    first, *others = widths
    for label, *numbers in table:
        cells = [cell.rjust(width) for cell, width in zip(numbers, others, strict=True)]
        print("  ".join([label.ljust(first), *cells]).rstrip())
    print()
    for label, value, goal, met in verdicts:
        if goal is None:
            print(f"{label}: {value}")
        else:
            print(f"{label}: {value}  (goal: {goal})  {'met' if met else 'NOT MET'}")
    for line in extra:
        print(line)
    print()
