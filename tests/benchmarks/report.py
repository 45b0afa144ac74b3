"""What every benchmark returns: one row of the table in docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    number: int
    name: str
    measured: str
    target: str
    verdict: str
    detail: str = ""
