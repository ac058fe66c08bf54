"""CANDLE Supervisor's UPF format: one JSON object per line, each with an ``id``.

Supervisor runs one training per line with the line's hyperparameters. Here a line is a point
of the search: hyperparameter names (and ``data.`` options, bundles, switches; see
:mod:`candle_lib.search.bindings`) to values. Reading keeps each line's ``id``; writing the
plan puts the content-addressed trial id there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from candle_lib.atomic import write_text
from candle_lib.errors import CandleInputError


def parse_upf(text: str, *, source: str = "UPF") -> list[dict]:
    """The points of a UPF text, ``id`` kept; blank lines are skipped."""
    points: list[dict] = []
    seen: dict = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            point = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CandleInputError(
                f"not valid JSON ({exc.msg}, column {exc.colno})", source=source, where=where
            ) from None
        if not isinstance(point, dict):
            raise CandleInputError(
                f"a UPF line is one JSON object, got {type(point).__name__}", source=source, where=where
            )
        if "id" not in point:
            raise CandleInputError('a UPF line needs an "id"', source=source, where=where)
        ident = point["id"]
        if isinstance(ident, bool) or not isinstance(ident, (str, int)):
            raise CandleInputError(f'"id" must be a string or an integer, got {ident!r}', source=source, where=where)
        if ident in seen:
            raise CandleInputError(f"id {ident!r} repeats line {seen[ident]}", source=source, where=where)
        seen[ident] = number
        points.append(point)
    return points


def read_upf(path) -> list[dict]:
    """The points of a UPF file, in file order, each with its ``id``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CandleInputError(f"cannot read UPF file ({exc.strerror})", source=str(path)) from None
    return parse_upf(text, source=str(path))


def format_upf(rows: Iterable[Mapping]) -> str:
    """One JSON line per row, ``id`` first; rows without an ``id`` are refused."""
    lines = []
    for number, row in enumerate(rows, start=1):
        if "id" not in row:
            raise ValueError(f"UPF row {number} has no 'id': {dict(row)!r}")
        ordered = {"id": row["id"], **{k: v for k, v in row.items() if k != "id"}}
        lines.append(json.dumps(ordered, allow_nan=False))
    return "".join(line + "\n" for line in lines)


def write_upf(path, rows: Iterable[Mapping]) -> None:
    """Write rows as a UPF file (atomically: a killed job leaves no partial file)."""
    write_text(path, format_upf(rows))


def upf_rows(points: Mapping[str, Mapping]) -> list[dict]:
    """UPF rows of planned points: {trial id: point} -> [{"id": trial id, **point}]."""
    return [{"id": trial_id, **point} for trial_id, point in points.items()]
