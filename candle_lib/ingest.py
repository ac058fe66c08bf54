"""Read and validate a read-count table, its gene annotation and its sample sheet.

The result is one aligned :class:`CountData`: a samples x genes integer matrix whose rows follow
the sample sheet and whose columns follow the annotation. Every problem is reported as a
:class:`~candle_lib.errors.CandleInputError` naming the file and the row/column at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import write_npy, write_table
from .errors import CandleInputError


@dataclass(frozen=True)
class CountData:
    counts: np.ndarray  # samples x genes, unsigned integers
    samples: pd.DataFrame  # sample sheet rows, in matrix row order
    genes: pd.DataFrame  # gene_id, length, gene_type (if given), in matrix column order


def read_table(path: str | Path, *, index_col: int | None = None) -> pd.DataFrame:
    """Read TSV/CSV (optionally gzipped) or Parquet, choosing by file name."""
    name = str(path)
    if not Path(name).exists():
        raise CandleInputError("file not found", source=name)
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(name)
            if index_col is not None:
                frame = frame.set_index(frame.columns[index_col])
            return frame
        bare = name[:-3] if name.endswith(".gz") else name
        sep = "," if bare.endswith(".csv") else "\t"
        return pd.read_csv(name, sep=sep, index_col=index_col)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CandleInputError(f"cannot be read as a table ({exc})", source=name) from exc


def _require_columns(frame: pd.DataFrame, columns, source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CandleInputError(
            f"missing column(s) {missing}; found {list(frame.columns)[:10]}", source=source
        )


def _first_duplicate(values: pd.Index | pd.Series) -> str | None:
    dup = pd.Index(values)[pd.Index(values).duplicated()]
    return str(dup[0]) if len(dup) else None


def read_sample_sheet(path, *, id_column: str, label_column: str, group_column: str | None):
    sheet = read_table(path)
    needed = [id_column, label_column] + ([group_column] if group_column else [])
    _require_columns(sheet, needed, path)
    sheet[id_column] = sheet[id_column].astype(str)
    dup = _first_duplicate(sheet[id_column])
    if dup is not None:
        raise CandleInputError(f"sample id '{dup}' appears more than once", source=path, where=f"column {id_column}")
    missing = sheet[label_column].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise CandleInputError(
            f"sample '{sheet[id_column].iloc[row]}' has no label", source=path, where=f"row {row + 2}, column {label_column}"
        )
    return sheet


def read_gene_table(path):
    genes = read_table(path)
    _require_columns(genes, ["gene_id", "length"], path)
    genes["gene_id"] = genes["gene_id"].astype(str)
    dup = _first_duplicate(genes["gene_id"])
    if dup is not None:
        raise CandleInputError(f"gene id '{dup}' appears more than once", source=path, where="column gene_id")
    length = pd.to_numeric(genes["length"], errors="coerce")
    bad = ~(length > 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CandleInputError(
            f"gene '{genes['gene_id'].iloc[row]}' has length {genes['length'].iloc[row]!r}; lengths must be positive numbers",
            source=path,
            where=f"row {row + 2}, column length",
        )
    genes["length"] = length.astype(np.float64)
    return genes


def read_count_matrix(path, *, orientation: str = "genes_by_samples") -> pd.DataFrame:
    """Return counts as a samples x genes frame (index sample ids, columns gene ids)."""
    if orientation not in ("genes_by_samples", "samples_by_genes"):
        raise CandleInputError(f"unknown orientation '{orientation}'", source=path)
    table = read_table(path, index_col=0)
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    frame = table.T if orientation == "genes_by_samples" else table
    kind = ("gene", "sample") if orientation == "genes_by_samples" else ("sample", "gene")
    for axis_values, what in ((table.index, kind[0]), (table.columns, kind[1])):
        dup = _first_duplicate(axis_values)
        if dup is not None:
            raise CandleInputError(f"{what} id '{dup}' appears more than once", source=path)
    return frame


def validate_counts(frame: pd.DataFrame, source) -> np.ndarray:
    """Check that every value is a non-negative integer; return a compact unsigned array."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    problems = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if problems.any():
        r, c = (int(i[0]) for i in np.nonzero(problems))
        raise CandleInputError(
            f"value {frame.iat[r, c]!r} is not a non-negative integer read count",
            source=source,
            where=f"sample '{frame.index[r]}', gene '{frame.columns[c]}'",
        )
    dtype = np.uint32 if values.size == 0 or values.max() < 2**32 else np.uint64
    return values.astype(dtype)


def align_counts(
    counts: pd.DataFrame,
    genes: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    id_column: str,
    counts_source,
) -> CountData:
    """Order the matrix by the sample sheet and the gene table; every id must match."""
    missing_samples = sorted(set(sheet[id_column]) - set(counts.index))
    if missing_samples:
        raise CandleInputError(
            f"{len(missing_samples)} sample(s) of the sample sheet have no column in the counts, e.g. {missing_samples[:3]}",
            source=counts_source,
        )
    extra = sorted(set(counts.index) - set(sheet[id_column]))
    if extra:
        raise CandleInputError(
            f"{len(extra)} sample(s) in the counts are not in the sample sheet, e.g. {extra[:3]}", source=counts_source
        )
    unannotated = sorted(set(counts.columns) - set(genes["gene_id"]))
    if unannotated:
        raise CandleInputError(
            f"{len(unannotated)} gene(s) have no annotation (length), e.g. {unannotated[:3]}", source=counts_source
        )
    genes = genes[genes["gene_id"].isin(counts.columns)].reset_index(drop=True)
    ordered = counts.loc[sheet[id_column].to_numpy(), genes["gene_id"].to_numpy()]
    return CountData(validate_counts(ordered, counts_source), sheet.reset_index(drop=True), genes)


def ingest(
    counts_path,
    genes_path,
    samples_path,
    *,
    orientation: str = "genes_by_samples",
    id_column: str = "sample_id",
    label_column: str = "label",
    group_column: str | None = None,
) -> CountData:
    """Read the three inputs and return them validated and aligned."""
    sheet = read_sample_sheet(samples_path, id_column=id_column, label_column=label_column, group_column=group_column)
    genes = read_gene_table(genes_path)
    counts = read_count_matrix(counts_path, orientation=orientation)
    return align_counts(counts, genes, sheet, id_column=id_column, counts_source=counts_path)


def save_count_data(data: CountData, counts_path, genes_path, samples_path) -> None:
    write_npy(counts_path, data.counts)
    write_table(genes_path, data.genes)
    write_table(samples_path, data.samples)


def load_count_data(counts_path, genes_path, samples_path) -> CountData:
    return CountData(np.load(counts_path), pd.read_parquet(samples_path), pd.read_parquet(genes_path))
