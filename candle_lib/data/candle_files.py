"""CANDLE's own benchmark file layouts, read into one :class:`CandleData`.

- **NT3 / TC1** (:func:`read_candle_xy`): CSV without a header (optionally gzipped); column 0 is
  the integer class label, the features follow. Train and test come as separate files, and the
  given test file stays the held-out test set (``split_hint == "test"``).
- **P1B1 / P1B2** (:func:`read_candle_p1b`): CSV with a header row, columns ``case_id``,
  ``cancer_type`` and one column per gene.

The values are parsed by pandas' C parser straight into float32 (60k columns). Only when that
fails is the file read a second time to name the row and column of the offending cell. Every
problem raises :class:`~candle_lib.errors.CandleInputError` naming the file and the row/column.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_EXACT_INT_FLOAT32 = 2**24  # larger labels are not exact in float32


class CandleData(NamedTuple):
    """A labelled matrix: unpacks as ``values, samples, features``."""

    values: np.ndarray  # float32, samples x features
    samples: pd.DataFrame  # sample_id, label (text), split_hint ('train'/'test') or sample-sheet columns
    features: pd.DataFrame  # feature_id, in matrix column order


def _separator(name: str) -> str:
    bare = name[:-3] if name.endswith(".gz") else name
    return "\t" if bare.endswith((".tsv", ".txt")) else ","


def _check_exists(path: str) -> None:
    if not Path(path).exists():
        raise CandleInputError("file not found", source=path)
    if Path(path).stat().st_size == 0:
        raise CandleInputError("file is empty", source=path)


def _parse_error(path: str, exc: Exception) -> CandleInputError:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        return CandleInputError(
            f"{found.group(3)} fields where the first line has {found.group(1)}",
            source=path,
            where=f"line {found.group(2)}",
        )
    return CandleInputError(f"cannot be read as CSV ({exc})", source=path)


def _first_text_cell(frame: pd.DataFrame, columns: list[int]) -> tuple[int, int, object] | None:
    """(row, column position, cell) of the first cell in ``columns`` that is not a number."""
    found = None
    for position in columns:
        column = frame.iloc[:, position]
        if pd.api.types.is_numeric_dtype(column.dtype):
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero((numbers.isna() & column.notna()).to_numpy())
        if len(bad) and (found is None or int(bad[0]) < found[0]):
            found = (int(bad[0]), position, column.iloc[int(bad[0])])
    return found


def _read_float32(path: str, *, header: list[str] | None, describe, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Parse a CSV into float32 columns (``text_columns`` as text).

    ``header``: the file's header cells, or None for a header-less file. ``describe(position)``
    names a column for messages. A cell that is not a number is located by a second read.
    """
    _check_exists(path)
    kwargs: dict = dict(sep=_separator(path), engine="c", header=0 if header is not None else None)
    if header is not None:
        dtype = {name: (str if name in text_columns else np.float32) for name in header}
    else:
        dtype = np.float32
    try:
        return pd.read_csv(path, dtype=dtype, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise CandleInputError("file is empty", source=path) from exc
    except pd.errors.ParserError as exc:
        raise _parse_error(path, exc) from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CandleInputError(f"cannot be read as CSV ({exc})", source=path) from exc
    except (ValueError, TypeError) as exc:
        failure = exc
    # Slow path, only for a bad file: read with type inference; only text columns need a look.
    try:
        frame = pd.read_csv(path, dtype={name: str for name in text_columns} or None, **kwargs)
    except (ValueError, OSError, EOFError) as again:
        raise CandleInputError(f"cannot be read as CSV ({again})", source=path) from failure
    numeric = [i for i in range(frame.shape[1]) if header is None or header[i] not in text_columns]
    found = _first_text_cell(frame, numeric)
    if found is None:
        raise CandleInputError(f"cannot be read as CSV ({failure})", source=path) from failure
    row, position, cell = found
    raise CandleInputError(
        f"value {cell!r} is not a number ({describe(position)})",
        source=path,
        where=f"line {row + (2 if header is not None else 1)}, column {position + 1}",
    ) from failure


def _open_text(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8", newline="")


def _header_cells(path: str) -> list[str]:
    """The header row exactly as written (pandas would rename duplicates to 'x.1')."""
    try:
        with _open_text(path) as handle:
            line = handle.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CandleInputError(f"cannot be read as CSV ({exc})", source=path) from exc
    if not line.strip():
        raise CandleInputError("file is empty (no header row)", source=path)
    return next(csv.reader([line.rstrip("\r\n")], delimiter=_separator(path)))


def _check_finite(values: np.ndarray, path: str, *, first_line: int, column_name) -> None:
    """Reject NaN (empty cells, short lines) and infinities, naming line and column."""
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        why = (
            "missing value (empty cell or short line)"
            if np.isnan(values[r, c])
            else f"value {values[r, c]} is infinite"
        )
        raise CandleInputError(f"{why} ({column_name(c)})", source=path, where=f"line {r + first_line}, column {c + 1}")


# --- NT3 / TC1 ---------------------------------------------------------------------------------


def _xy_column(position: int) -> str:
    return "the label column" if position == 0 else f"feature f{position - 1}"


def _read_xy_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    frame = _read_float32(str(path), header=None, describe=_xy_column)
    if frame.shape[1] < 2:
        raise CandleInputError(
            f"{frame.shape[1]} column(s); expected the label in column 1 and features after it", source=path
        )
    values = frame.to_numpy(dtype=np.float32)
    _check_finite(values, path, first_line=1, column_name=_xy_column)
    labels = values[:, 0].astype(np.float64)
    bad = (labels != np.round(labels)) | (np.abs(labels) >= _EXACT_INT_FLOAT32)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CandleInputError(
            f"label {float(frame.iat[row, 0])!r} is not an integer class label",
            source=path,
            where=f"line {row + 1}, column 1",
        )
    return labels.astype(np.int64), np.ascontiguousarray(values[:, 1:])


def read_candle_xy(train_path, test_path) -> CandleData:
    """NT3/TC1 layout: header-less CSVs, integer label in column 0, then the features.

    Rows are train rows then test rows; ``sample_id`` is ``train_<i>`` / ``test_<i>`` (0-based row
    of its file), ``label`` the integer as text, ``split_hint`` ``train`` / ``test``; features are
    named ``f0``, ``f1``, ... Files of different widths are rejected.
    """
    train_path, test_path = str(train_path), str(test_path)
    train_labels, train_x = _read_xy_file(train_path)
    test_labels, test_x = _read_xy_file(test_path)
    if train_x.shape[1] != test_x.shape[1]:
        raise CandleInputError(
            f"train file {train_path} has {train_x.shape[1] + 1} columns but test file {test_path} has "
            f"{test_x.shape[1] + 1} columns (label + features); they must have the same width",
            source=test_path,
        )
    n_train, n_test = len(train_labels), len(test_labels)
    samples = pd.DataFrame(
        {
            "sample_id": [f"train_{i}" for i in range(n_train)] + [f"test_{i}" for i in range(n_test)],
            "label": np.concatenate([train_labels, test_labels]).astype(str),
            "split_hint": ["train"] * n_train + ["test"] * n_test,
        }
    )
    features = pd.DataFrame({"feature_id": [f"f{i}" for i in range(train_x.shape[1])]})
    return CandleData(np.concatenate([train_x, test_x]), samples, features)


# --- P1B1 / P1B2 -------------------------------------------------------------------------------

P1B_ID, P1B_LABEL = "case_id", "cancer_type"


def _read_p1b_file(path: str) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    _check_exists(path)
    header = _header_cells(path)
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            what = "gene" if name not in (P1B_ID, P1B_LABEL) else "column"
            raise CandleInputError(
                f"{what} '{name}' appears more than once in the header (columns {seen[name]} and {position})",
                source=path,
                where="line 1",
            )
        seen[name] = position
    missing = [c for c in (P1B_ID, P1B_LABEL) if c not in seen]
    if missing:
        raise CandleInputError(
            f"missing column(s) {missing} in the header; found {header[:5]}", source=path, where="line 1"
        )
    genes = [name for name in header if name not in (P1B_ID, P1B_LABEL)]
    if not genes:
        raise CandleInputError("no gene columns after case_id and cancer_type", source=path, where="line 1")

    frame = _read_float32(
        path, header=header, describe=lambda position: f"gene '{header[position]}'", text_columns=(P1B_ID, P1B_LABEL)
    )
    if len(frame) == 0:
        raise CandleInputError("has a header but no samples", source=path)
    for column in (P1B_ID, P1B_LABEL):
        values = frame[column]
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise CandleInputError(
                f"{column} is missing (empty cell)",
                source=path,
                where=f"line {row + 2}, column {seen[column]} ({column})",
            )
    ids = frame[P1B_ID].astype(str)
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise CandleInputError(
            f"case_id '{ids.iloc[row]}' appears more than once",
            source=path,
            where=f"line {row + 2}, column {seen[P1B_ID]}",
        )
    values = frame[genes].to_numpy(dtype=np.float32)
    gene_positions = [seen[g] - 1 for g in genes]
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        why = (
            "missing value (empty cell or short line)"
            if np.isnan(values[r, c])
            else f"value {values[r, c]} is infinite"
        )
        raise CandleInputError(
            f"{why} (gene '{genes[c]}')", source=path, where=f"line {r + 2}, column {gene_positions[c] + 1}"
        )
    samples = pd.DataFrame(
        {"sample_id": ids.to_numpy(dtype=object), "label": frame[P1B_LABEL].astype(str).to_numpy(dtype=object)}
    )
    return samples, values, genes


def read_candle_p1b(path, test_path=None) -> CandleData:
    """P1B1/P1B2 layout: header row; columns case_id, cancer_type, then one column per gene.

    ``sample_id`` comes from case_id, ``label`` from cancer_type, feature ids from the header.
    With ``test_path``, its rows follow as the held-out test set (``split_hint == "test"``); its
    gene columns must be the train file's (they are put in the train file's order).
    """
    path = str(path)
    samples, values, genes = _read_p1b_file(path)
    samples["split_hint"] = "train"
    if test_path is not None:
        test_path = str(test_path)
        test_samples, test_values, test_genes = _read_p1b_file(test_path)
        if test_genes != genes:
            missing = [g for g in genes if g not in set(test_genes)]
            extra = [g for g in test_genes if g not in set(genes)]
            if missing or extra:
                raise CandleInputError(
                    f"gene columns differ from the train file {path} ({len(genes)} genes) : {len(missing)} missing "
                    f"(e.g. {missing[:3]}), {len(extra)} not in the train file (e.g. {extra[:3]})",
                    source=test_path,
                    where="line 1",
                )
            test_values = test_values[:, pd.Index(test_genes).get_indexer(genes)]
        overlap = sorted(set(samples["sample_id"]) & set(test_samples["sample_id"]))
        if overlap:
            raise CandleInputError(
                f"case_id '{overlap[0]}' is in both the train file {path} and the test file "
                f"({len(overlap)} shared case(s)); the test set must be held out",
                source=test_path,
                where="column case_id",
            )
        test_samples["split_hint"] = "test"
        samples = pd.concat([samples, test_samples], ignore_index=True)
        values = np.concatenate([values, test_values])
    features = pd.DataFrame({"feature_id": genes})
    return CandleData(np.ascontiguousarray(values), samples, features)
