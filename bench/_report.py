"""Figures as tables: each row a median and a p99, and its ratio to the baseline of its block.

A table is a list of blocks (a heading, then rows). A block holds at most one baseline row; every
row of the block is printed with its ratio to that baseline, measured in the same run. Rows whose
unit is "x" are ratios already (llm-persona / peer) and are printed as they are.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


def median_p99(samples: Iterable[float]) -> tuple[float, float]:
    """The median and the 99th percentile (nearest rank; the maximum of fewer than 100 samples)."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class Row:
    label: str
    median: float
    p99: float | None = None
    unit: str = "ms"
    baseline: bool = False

    @classmethod
    def of(cls, label: str, samples: Sequence[float], unit: str = "ms", *, baseline: bool = False) -> Row:
        median, p99 = median_p99(samples)
        return cls(label, median, p99, unit, baseline)


@dataclass
class Block:
    heading: str
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


@dataclass
class Table:
    title: str
    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def block(self, heading: str) -> Block:
        block = Block(heading)
        self.blocks.append(block)
        return block


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":  # two significant digits below 0.1: a peer 80 times slower is 0.013x, not 0.01x
        return f"{value:.2f}x" if abs(value) >= 0.1 else f"{value:#.2g}x"
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{value:,.{digits}f} {unit}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return ""
    ratio = value / base
    return f"{ratio:.2f}x" if ratio < 1 else f"{ratio:.1f}x"


def _label(row: Row) -> str:
    return f"  {row.label}" + (" (baseline)" if row.baseline else "")


def render(table: Table) -> str:
    width = max([46, *(len(_label(r)) + 2 for b in table.blocks for r in b.rows)])
    lines = [f"== {table.title} ==", f"{'':{width}}{'median':>13}{'p99':>13}{'x base':>9}{'p99 x':>8}"]
    for block in table.blocks:
        lines.append(block.heading)
        base = next((r for r in block.rows if r.baseline), None)
        for row in block.rows:
            ratio = p99_ratio = ""
            if base is not None and row.unit == base.unit:
                ratio, p99_ratio = _ratio(row.median, base.median), _ratio(row.p99, base.p99)
            lines.append(
                f"{_label(row):{width}}{fmt(row.median, row.unit):>13}{fmt(row.p99, row.unit):>13}"
                f"{ratio:>9}{p99_ratio:>8}"
            )
    for note in table.notes:
        lines.extend(textwrap.wrap(note, width + 43, initial_indent="  ", subsequent_indent="    "))
    return "\n".join(lines)


def show(table: Table) -> None:
    print(render(table), flush=True)
    print(flush=True)
