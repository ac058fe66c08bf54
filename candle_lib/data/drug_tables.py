"""Drug-response data (P1B3 / Uno / Combo style): join responses to features by id, lazily.

A drug-response set is three tables:

- cell-line features: one row per cell line (an id column, then e.g. expression values);
- drug features: one row per drug (an id column, then descriptors and/or fingerprint bits);
- responses: one row per measurement (cell line id, drug id, dose, target such as NCI60 percent
  growth or AUC), often millions of rows.

CANDLE's P1B3/Uno loaders merged these into one wide frame (responses x (cell + drug features)),
which for millions of responses and thousands of features does not fit in memory. Here
:func:`join_indices` resolves ids once, vectorised, into two integer arrays (the row of each kept
response in the cell and drug feature matrices), and :func:`gather_batch` assembles only the rows
of one training batch: ``[cell features | drug features | dose]``.

Responses whose cell line or drug has no feature row cannot be used; they are dropped and
counted in ``JoinResult.report`` (a JSON-ready dict), never silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class FeatureTable:
    """One feature table as a dense matrix: row ``i`` of ``matrix`` belongs to ``ids[i]``."""

    ids: pd.Index  # unique row ids (strings when read from a file)
    columns: pd.Index  # feature names, matrix column order
    matrix: np.ndarray  # float32, len(ids) x len(columns)
    source: str | None = None

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class JoinResult:
    """Responses resolved against the two feature tables; nothing wide is materialized.

    ``cell_index[i]`` / ``drug_index[i]`` are the feature-matrix rows of kept response ``i``;
    ``responses`` holds the kept response rows (all their columns: ids, dose, targets) in input
    order with a fresh 0..n-1 index, and ``response_rows`` their positions in the input table.
    """

    cell_index: np.ndarray  # int32 (int64 only for >= 2**31 feature rows)
    drug_index: np.ndarray
    response_rows: np.ndarray  # int64 positions in the input responses table
    responses: pd.DataFrame
    report: dict
    n_cell_rows: int  # rows of the cell feature matrix the indices refer to
    n_drug_rows: int

    def __len__(self) -> int:
        return int(self.cell_index.size)

    def column(self, name: str) -> np.ndarray:
        """One column of the kept responses (e.g. the target) as a numpy array."""
        if name not in self.responses.columns:
            raise CandleInputError(
                f"the responses have no column '{name}'; found {list(self.responses.columns)}", where=f"column {name}"
            )
        return self.responses[name].to_numpy()


# ---------------------------------------------------------------------------------------------
# joining


def _as_index(ids, what: str) -> pd.Index:
    if isinstance(ids, FeatureTable):
        ids = ids.ids
    index = ids if isinstance(ids, pd.Index) else pd.Index(np.asarray(ids) if not isinstance(ids, pd.Series) else ids)
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise CandleInputError(f"{what} id '{dup}' appears more than once in the {what} features")
    return index


def _plain(value) -> Any:
    """A JSON-friendly scalar (None for missing ids)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _resolve(values: pd.Series, ids: pd.Index) -> tuple[np.ndarray, dict]:
    """Feature row of every response (-1 where missing) and the report of missing ids.

    Factorizing first means the hash look-up runs once per distinct id, and the per-response
    work is one integer take; categorical (e.g. Parquet dictionary) columns factorize for free.
    """
    numeric_values = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    numeric_ids = pd.api.types.is_numeric_dtype(ids.dtype) and not pd.api.types.is_bool_dtype(ids.dtype)
    if numeric_values != numeric_ids:  # e.g. NSC numbers read as integers on one side only
        values = values.astype(str).where(values.notna())
        ids = ids.astype(str)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position = ids.get_indexer(uniques)
    # code -1 (a missing id) indexes the appended -1
    index = np.append(position, -1).astype(np.int64)[codes]
    missing = index < 0
    n_missing = int(np.count_nonzero(missing))
    missing_unique = np.flatnonzero(position < 0)  # in order of first appearance
    examples = [_plain(uniques[i]) for i in missing_unique[:MAX_EXAMPLES]]
    n_ids = int(missing_unique.size)
    if (codes < 0).any():  # empty / NaN ids
        n_ids += 1
        if len(examples) < MAX_EXAMPLES:
            examples.append(None)
    return index, {"n_responses": n_missing, "n_ids": n_ids, "examples": examples}


def _index_dtype(n_rows: int):
    return np.int32 if n_rows < 2**31 else np.int64


def join_indices(
    responses: pd.DataFrame,
    cell_ids,
    drug_ids,
    *,
    cell_column: str = "cell_line",
    drug_column: str = "drug",
) -> JoinResult:
    """Resolve each response's cell line and drug to rows of the two feature matrices.

    ``cell_ids`` / ``drug_ids`` are the row ids of the feature matrices, in row order (an index,
    array, list, or a :class:`FeatureTable`); they must be unique. Responses whose cell line or
    drug has no features are dropped and reported in ``report``::

        {"n_responses": 10, "n_kept": 7, "n_dropped": 3,
         "missing_cell_features": {"column": "cell_line", "n_responses": 2, "n_ids": 1, "examples": ["CL9"]},
         "missing_drug_features": {"column": "drug", "n_responses": 1, "n_ids": 1, "examples": ["D7"]}}

    A response missing both counts in both blocks, once in ``n_dropped``; ``n_ids`` counts
    distinct missing ids, ``examples`` lists up to 5 of them in order of first appearance
    (``None`` stands for an empty id).
    """
    for column in (cell_column, drug_column):
        if column not in responses.columns:
            raise CandleInputError(
                f"the responses have no column '{column}'; found {list(responses.columns)[:10]}",
                where=f"column {column}",
            )
    cells = _as_index(cell_ids, "cell line")
    drugs = _as_index(drug_ids, "drug")
    cell_index, cell_report = _resolve(responses[cell_column], cells)
    drug_index, drug_report = _resolve(responses[drug_column], drugs)
    keep = (cell_index >= 0) & (drug_index >= 0)
    n = len(responses)
    if keep.all():
        rows = np.arange(n, dtype=np.int64)
        kept = responses.reset_index(drop=True)
    else:
        rows = np.flatnonzero(keep).astype(np.int64)
        kept = responses.take(rows).reset_index(drop=True)
        cell_index = cell_index[rows]
        drug_index = drug_index[rows]
    report = {
        "n_responses": n,
        "n_kept": int(rows.size),
        "n_dropped": int(n - rows.size),
        "missing_cell_features": {"column": cell_column, **cell_report},
        "missing_drug_features": {"column": drug_column, **drug_report},
    }
    return JoinResult(
        cell_index=cell_index.astype(_index_dtype(len(cells))),
        drug_index=drug_index.astype(_index_dtype(len(drugs))),
        response_rows=rows,
        responses=kept,
        report=report,
        n_cell_rows=len(cells),
        n_drug_rows=len(drugs),
    )


def gather_batch(
    cell_matrix,
    drug_matrix,
    join: JoinResult,
    rows,
    extra_columns: Sequence[str] | None = None,
    *,
    dtype=np.float32,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Assemble the input rows of one batch: ``[cell features | drug features | extras]``.

    ``rows`` are positions in ``join`` (0..len(join)-1; an integer array, list or slice).
    ``extra_columns`` are response columns appended at the right; by default ``["dose"]`` when
    the responses have a dose column, else none (pass ``[]`` for none). Only the requested rows
    are read, so the matrices may be memory-mapped. ``out`` (batch x width, ``dtype``) is reused
    when given.
    """
    cell_matrix = cell_matrix.matrix if isinstance(cell_matrix, FeatureTable) else cell_matrix
    drug_matrix = drug_matrix.matrix if isinstance(drug_matrix, FeatureTable) else drug_matrix
    if not isinstance(cell_matrix, np.ndarray):
        cell_matrix = np.asarray(cell_matrix)
    if not isinstance(drug_matrix, np.ndarray):
        drug_matrix = np.asarray(drug_matrix)
    for name, matrix, expected in (("cell", cell_matrix, join.n_cell_rows), ("drug", drug_matrix, join.n_drug_rows)):
        if matrix.ndim != 2 or matrix.shape[0] != expected:
            raise ValueError(
                f"the {name} matrix has shape {matrix.shape}; the join was made against {expected} {name} ids"
            )
    if extra_columns is None:
        extra_columns = ["dose"] if "dose" in join.responses.columns else []
    extras = [join.column(name) for name in extra_columns]
    if isinstance(rows, slice):
        rows = np.arange(len(join))[rows]
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise ValueError("rows must be a 1-d array of integer positions in the join")
    nc, nd = cell_matrix.shape[1], drug_matrix.shape[1]
    shape = (rows.size, nc + nd + len(extras))
    if out is None:
        out = np.empty(shape, dtype=dtype)
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}; this batch needs {shape}")
    out[:, :nc] = cell_matrix[join.cell_index[rows]]
    out[:, nc : nc + nd] = drug_matrix[join.drug_index[rows]]
    for j, values in enumerate(extras):
        out[:, nc + nd + j] = values[rows]
    return out


# ---------------------------------------------------------------------------------------------
# reading


def _read(path, text_columns: Sequence[str]) -> pd.DataFrame:
    """TSV/CSV (optionally gzipped) or Parquet by file name; ``text_columns`` read as strings."""
    name = str(path)
    if not Path(name).exists():
        raise CandleInputError("file not found", source=name)
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(name)
        else:
            bare = name[:-3] if name.endswith(".gz") else name
            sep = "," if bare.endswith(".csv") else "\t"
            header = pd.read_csv(name, sep=sep, nrows=0).columns
            dtype = {c: str for c in text_columns if c in header}
            frame = pd.read_csv(name, sep=sep, dtype=dtype, keep_default_na=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CandleInputError(f"cannot be read as a table ({exc})", source=name) from exc
    return frame


def _require(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise CandleInputError(
                f"missing column '{column}'; found {list(frame.columns)[:10]}", source=source, where=f"column {column}"
            )


def _row_label(source: str, row: int) -> str:
    # 1-based line of the file for text tables (line 1 is the header); 0-based row for Parquet
    return f"row {row}" if source.endswith(".parquet") else f"line {row + 2}"


def _ids(frame: pd.DataFrame, column: str, source: str, what: str) -> pd.Index:
    values = frame[column]
    empty = values.isna()
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise CandleInputError(
            f"a {what} id is empty", source=source, where=f"{_row_label(source, row)}, column {column}"
        )
    ids = pd.Index(values.astype(str), name=column)
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise CandleInputError(f"{what} id '{dup}' appears more than once", source=source, where=f"column {column}")
    return ids


def _numeric(frame: pd.DataFrame, column: str, source: str, *, allow_nan: bool) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if not allow_nan:
        bad |= values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CandleInputError(
            f"value {raw.iloc[row]!r} is not a number",
            source=source,
            where=f"{_row_label(source, row)}, column {column}",
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def read_feature_table(
    path, *, id_column: str, what: str = "feature", fill_missing: float | None = None
) -> FeatureTable:
    """Read one feature table: an id column (unique) and numeric feature columns -> float32.

    Empty feature values are an error naming the row and column, unless ``fill_missing`` gives a
    value to put in their place (descriptor tables often have gaps; CANDLE's Uno filled them).
    """
    source = str(path)
    frame = _read(path, [id_column])
    _require(frame, [id_column], source)
    ids = _ids(frame, id_column, source, what)
    features = frame.drop(columns=[id_column])
    if features.shape[1] == 0:
        raise CandleInputError(f"no feature columns besides '{id_column}'", source=source)
    dup = features.columns[features.columns.duplicated()]
    if len(dup):
        raise CandleInputError(
            f"feature column '{dup[0]}' appears more than once", source=source, where=f"column {dup[0]}"
        )
    dtypes = features.dtypes
    numeric = np.array([pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in dtypes])
    for column in features.columns[~numeric]:  # the first non-numeric value names row and column
        _numeric(features, column, source, allow_nan=True)
        features[column] = pd.to_numeric(features[column])
    matrix = features.to_numpy(dtype=np.float32)
    holes = np.isnan(matrix)
    if holes.any():
        if fill_missing is None:
            r, c = (int(i[0]) for i in np.nonzero(holes))
            raise CandleInputError(
                f"{what} '{ids[r]}' has an empty value (use fill_missing to fill gaps)",
                source=source,
                where=f"{_row_label(source, r)}, column {features.columns[c]}",
            )
        matrix[holes] = fill_missing
    return FeatureTable(
        ids=ids, columns=pd.Index(features.columns.astype(str)), matrix=np.ascontiguousarray(matrix), source=source
    )


def read_cell_features(path, *, id_column: str = "cell_line", fill_missing: float | None = None) -> FeatureTable:
    """Cell-line features (e.g. expression): ``id_column`` then one column per feature."""
    return read_feature_table(path, id_column=id_column, what="cell line", fill_missing=fill_missing)


def read_drug_features(path, *, id_column: str = "drug", fill_missing: float | None = None) -> FeatureTable:
    """Drug features (descriptors, fingerprint bits): ``id_column`` then one column per feature."""
    return read_feature_table(path, id_column=id_column, what="drug", fill_missing=fill_missing)


def read_responses(
    path,
    *,
    cell_column: str = "cell_line",
    drug_column: str = "drug",
    dose_column: str | None = "dose",
    target_column: str = "growth",
) -> pd.DataFrame:
    """Read the responses table; ids become strings, dose and target float64.

    Missing columns, and non-numeric or empty doses/targets, are errors naming the file, the
    column and (for values) the row. Empty ids are kept: :func:`join_indices` reports them.
    """
    source = str(path)
    frame = _read(path, [cell_column, drug_column])
    needed = [cell_column, drug_column] + ([dose_column] if dose_column else []) + [target_column]
    _require(frame, needed, source)
    for column in (cell_column, drug_column):
        if not (
            pd.api.types.is_string_dtype(frame[column].dtype) or isinstance(frame[column].dtype, pd.CategoricalDtype)
        ):
            frame[column] = frame[column].astype(str).where(frame[column].notna())
    for column in ([dose_column] if dose_column else []) + [target_column]:
        frame[column] = _numeric(frame, column, source, allow_nan=False)
    return frame
