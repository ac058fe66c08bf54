"""Read and validate a read-count table, its gene annotation and its sample sheet.

The result is one aligned :class:`CountData`: a samples x genes integer matrix whose rows follow
the sample sheet and whose columns follow the annotation. The annotation is either a gene table
(``gene_id``, ``length``, optional ``gene_type``) or a GENCODE/Ensembl GTF (union-exon lengths,
see :mod:`candle_lib.data.gtf`). An already-normalized matrix (no counts, no lengths) is read by
:func:`ingest_matrix`. Every problem is reported as a :class:`~candle_lib.errors.CandleInputError`
naming the file and the row/column at fault, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_npy, write_table
from candle_lib.data.candle_files import CandleData
from candle_lib.data.gtf import read_gtf_genes
from candle_lib.errors import CandleInputError

GTF_SUFFIXES = (".gtf", ".gtf.gz")
# Orientation names of the config, and their generic aliases.
ORIENTATIONS = {
    "genes_by_samples": "features_by_samples",
    "samples_by_genes": "samples_by_features",
    "features_by_samples": "features_by_samples",
    "samples_by_features": "samples_by_features",
}


@dataclass(frozen=True)
class CountData:
    counts: np.ndarray  # samples x genes, unsigned integers
    samples: pd.DataFrame  # sample sheet rows, in matrix row order
    genes: pd.DataFrame  # gene_id, length, gene_type (if given), in matrix column order


def _separator(name: str) -> str:
    bare = name[:-3] if name.endswith(".gz") else name
    return "," if bare.endswith(".csv") else "\t"


def read_table(path: str | Path, *, index_col: int | None = None) -> pd.DataFrame:
    """Read TSV/CSV (optionally gzipped) or Parquet, choosing by file name."""
    name = str(path)
    if not Path(name).exists():
        raise CandleInputError("file not found", source=name)
    if Path(name).stat().st_size == 0:
        raise CandleInputError("file is empty", source=name)
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(name)
            if index_col is not None:
                frame = frame.set_index(frame.columns[index_col])
            return frame
        frame = pd.read_csv(name, sep=_separator(name), index_col=index_col)
    except pd.errors.EmptyDataError as exc:
        raise CandleInputError("file is empty", source=name) from exc
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise CandleInputError(f"cannot be read as a table ({exc})", source=name) from exc
    if frame.shape[1] + (index_col is not None) == 1:
        _check_separator(name)
    return frame


SEPARATOR_NAMES = {"\t": "tabs", ",": "commas", ";": "semicolons", "|": "bars"}


def _first_line(name: str) -> str:
    import gzip

    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(name, "rt", errors="replace") as handle:
            return handle.readline()
    except (OSError, EOFError):
        return ""


def _check_separator(name: str) -> None:
    """A text table read as ONE column whose header holds another separator was written with
    that separator (e.g. a semicolon-separated .csv, as a spreadsheet in some locales saves it)."""
    expected = _separator(name)
    header = _first_line(name)
    found = [sep for sep in SEPARATOR_NAMES if sep != expected and sep in header]
    if found:
        kind = "CSV (.csv)" if expected == "," else "TSV (.tsv or .txt)"
        raise CandleInputError(
            f"reads as a single column: its header line is separated by {SEPARATOR_NAMES[found[0]]}, but a {kind} "
            f"file is read with {SEPARATOR_NAMES[expected]}; save it with {SEPARATOR_NAMES[expected]}"
            + (" (or as .tsv with tabs)" if expected == "," else " (or as .csv with commas)"),
            source=name,
            where="row 1",
        )


def _require_columns(frame: pd.DataFrame, columns, source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CandleInputError(f"missing column(s) {missing}; found {list(frame.columns)[:10]}", source=source)


def _first_duplicate(values: pd.Index | pd.Series) -> str | None:
    dup = pd.Index(values)[pd.Index(values).duplicated()]
    return str(dup[0]) if len(dup) else None


def _shown(cell) -> str:
    """A cell as it reads in a message: 'text' quoted, numbers plain (not np.float64(...))."""
    return repr(cell.item() if isinstance(cell, np.generic) else cell)


def _first_missing_row(values) -> int | None:
    """Position of the first empty cell (NaN, None or blank text), or None."""
    values = pd.Series(np.asarray(values, dtype=object))
    missing = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    hits = np.flatnonzero(missing)
    return int(hits[0]) if len(hits) else None


def _text_header(path) -> list[str] | None:
    """The raw header cells of a CSV/TSV file (pandas renames duplicates to 'x.1'); None for Parquet."""
    name = str(path)
    if name.endswith(".parquet"):
        return None
    try:
        header = pd.read_csv(name, sep=_separator(name), header=None, nrows=1, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise CandleInputError("file is empty", source=name) from exc
    except (ValueError, OSError, EOFError) as exc:
        raise CandleInputError(f"cannot be read as a table ({exc})", source=name) from exc
    return [str(v) for v in header.iloc[0].tolist()] if len(header) else []


def _check_header_unique(path, what: str) -> None:
    """Column names after the first (the id column) must be unique; names both columns."""
    header = _text_header(path)
    if header is None:
        return
    seen: dict[str, int] = {}
    for position, cell in enumerate(header[1:], start=2):
        if cell in seen:
            raise CandleInputError(
                f"{what} id '{cell}' appears more than once (header columns {seen[cell]} and {position})",
                source=path,
                where="row 1",
            )
        seen[cell] = position


def check_declared_labels(sheet: pd.DataFrame, *, id_column: str, label_column: str, declared_classes, source) -> None:
    """Every label must be one of ``declared_classes`` (compared as text); None accepts all."""
    if declared_classes is None:
        return
    declared = [str(c) for c in declared_classes]
    labels = sheet[label_column].astype(str)
    undeclared = ~labels.isin(declared).to_numpy()
    if undeclared.any():
        row = int(np.flatnonzero(undeclared)[0])
        others = sorted(set(labels[undeclared]))
        raise CandleInputError(
            f"sample '{sheet[id_column].iloc[row]}' has label '{labels.iloc[row]}', which is not among the declared "
            f"classes {declared} (undeclared: {others[:5]})",
            source=source,
            where=f"row {row + 2}, column {label_column}",
        )


def read_sample_sheet(path, *, id_column: str, label_column: str, group_column: str | None, declared_classes=None):
    """The sample sheet, with ids unique and present, labels present (and declared, if given)."""
    sheet = read_table(path)
    needed = [id_column, label_column] + ([group_column] if group_column else [])
    _require_columns(sheet, needed, path)
    if len(sheet) == 0:
        raise CandleInputError("has a header but no samples", source=path)
    row = _first_missing_row(sheet[id_column])
    if row is not None:
        raise CandleInputError(
            "sample id is missing (empty cell)", source=path, where=f"row {row + 2}, column {id_column}"
        )
    sheet[id_column] = sheet[id_column].astype(str)
    dup = _first_duplicate(sheet[id_column])
    if dup is not None:
        raise CandleInputError(f"sample id '{dup}' appears more than once", source=path, where=f"column {id_column}")
    missing = sheet[label_column].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise CandleInputError(
            f"sample '{sheet[id_column].iloc[row]}' has no label",
            source=path,
            where=f"row {row + 2}, column {label_column}",
        )
    if group_column:
        row = _first_missing_row(sheet[group_column])
        if row is not None:
            raise CandleInputError(
                f"sample '{sheet[id_column].iloc[row]}' has no group",
                source=path,
                where=f"row {row + 2}, column {group_column}",
            )
    check_declared_labels(
        sheet, id_column=id_column, label_column=label_column, declared_classes=declared_classes, source=path
    )
    return sheet


def read_gene_table(path):
    genes = read_table(path)
    _require_columns(genes, ["gene_id", "length"], path)
    if len(genes) == 0:
        raise CandleInputError("has a header but no genes", source=path)
    row = _first_missing_row(genes["gene_id"])
    if row is not None:
        raise CandleInputError("gene id is missing (empty cell)", source=path, where=f"row {row + 2}, column gene_id")
    genes["gene_id"] = genes["gene_id"].astype(str)
    dup = _first_duplicate(genes["gene_id"])
    if dup is not None:
        raise CandleInputError(f"gene id '{dup}' appears more than once", source=path, where="column gene_id")
    row = _first_missing_row(genes["length"])
    if row is not None:
        raise CandleInputError(
            f"gene '{genes['gene_id'].iloc[row]}' has no length (empty cell); lengths must be positive numbers",
            source=path,
            where=f"row {row + 2}, column length",
        )
    length = pd.to_numeric(genes["length"], errors="coerce")
    numbers = length.to_numpy(dtype=np.float64)
    bad = ~(numbers > 0) | ~np.isfinite(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CandleInputError(
            f"gene '{genes['gene_id'].iloc[row]}' has length {_shown(genes['length'].iloc[row])}; lengths must be positive numbers",
            source=path,
            where=f"row {row + 2}, column length",
        )
    genes["length"] = numbers
    return genes


def read_gene_annotation(path) -> pd.DataFrame:
    """Gene ids, lengths (float64) and types from a GTF (``.gtf``/``.gtf.gz``) or a gene table.

    A GTF gives union-exon lengths and ``gene_name`` (see :func:`candle_lib.data.gtf.read_gtf_genes`);
    any other file is read as a gene table with columns ``gene_id``, ``length`` and optionally
    ``gene_type``. Without gene types every gene counts as protein-coding downstream.
    """
    if str(path).lower().endswith(GTF_SUFFIXES):
        genes = read_gtf_genes(path)
        genes["length"] = genes["length"].astype(np.float64)
        return genes
    return read_gene_table(path)


def _read_oriented(path, orientation: str, what: str) -> pd.DataFrame:
    """A samples x ``what`` frame from a table in either orientation; ids present and unique."""
    if orientation not in ORIENTATIONS:
        raise CandleInputError(
            f"unknown orientation '{orientation}' (use genes_by_samples or samples_by_genes)", source=path
        )
    by_samples = ORIENTATIONS[orientation] == "features_by_samples"
    kind = (what, "sample") if by_samples else ("sample", what)
    table = read_table(path, index_col=0)
    _check_header_unique(path, kind[1])
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise CandleInputError(
            f"has no data: {table.shape[0]} row(s) of {kind[0]}s and {table.shape[1]} column(s) of {kind[1]}s",
            source=path,
        )
    row = _first_missing_row(table.index)
    if row is not None:
        raise CandleInputError(f"{kind[0]} id is missing (empty cell)", source=path, where=f"row {row + 2}, column 1")
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    for axis_values, name in ((table.index, kind[0]), (table.columns, kind[1])):
        dup = _first_duplicate(axis_values)
        if dup is not None:
            raise CandleInputError(f"{name} id '{dup}' appears more than once", source=path)
    return table.T if by_samples else table


def read_count_matrix(path, *, orientation: str = "genes_by_samples") -> pd.DataFrame:
    """Return counts as a samples x genes frame (index sample ids, columns gene ids)."""
    return _read_oriented(path, orientation, "gene")


def _numeric_values(frame: pd.DataFrame) -> np.ndarray:
    """float64 values; text that is not a number becomes NaN (the caller reports it)."""
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes):
        return frame.to_numpy(dtype=np.float64)
    return frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)


def _why_not_finite(cell) -> str:
    """Explain a cell whose numeric value is NaN or infinite."""
    text = cell.strip().lower() if isinstance(cell, str) else None
    if text is not None and text not in ("", "nan", "na", "n/a", "null", "none"):
        if pd.isna(pd.to_numeric(pd.Series([cell]), errors="coerce").iloc[0]):
            return "not a number"
        return "infinite (inf)"
    if text is not None or pd.isna(cell):
        return "NaN (missing value or empty cell)"
    return "infinite (inf)"


def _short_row(source) -> None:
    """A text table with a line of fewer fields than its header (a truncated line, or a missing
    separator) reads as NaN in the missing cells: name the line instead."""
    name = str(source)
    if not Path(name).is_file() or name.endswith(".parquet"):
        return
    import gzip

    separator = _separator(name)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(name, "rt", errors="replace") as handle:
        expected = None
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.count(separator) + 1
            if expected is None:
                expected = fields
            elif fields < expected:
                raise CandleInputError(
                    f"line {number} has {fields} fields but the header has {expected}: a short row (a truncated "
                    f"line, or a missing {'tab' if separator == chr(9) else 'comma'})? Check that line",
                    source=name,
                    where=f"line {number}",
                )


def validate_counts(frame: pd.DataFrame, source) -> np.ndarray:
    """Check that every value is a non-negative integer; return a compact unsigned array."""
    values = _numeric_values(frame)
    finite = np.isfinite(values)
    problems = ~finite | (values < 0) | (values != np.round(values))
    if problems.any():
        r, c = (int(i[0]) for i in np.nonzero(problems))
        cell = frame.iat[r, c]
        if not finite[r, c]:
            why = _why_not_finite(cell)
            if why.startswith("NaN"):
                _short_row(source)
        elif values[r, c] < 0:
            why = "negative"
        else:
            why = "fractional"
        raise CandleInputError(
            f"value {_shown(cell)} is not a non-negative integer read count: {why}",
            source=source,
            where=f"sample '{frame.index[r]}', gene '{frame.columns[c]}'",
        )
    dtype = np.uint32 if values.size == 0 or values.max() < 2**32 else np.uint64
    return values.astype(dtype)


def _check_orientation(frame: pd.DataFrame, sheet: pd.DataFrame, id_column: str, orientation: str, source) -> None:
    """The sample sheet's ids on the wrong axis of the table: the file is laid out the other way
    round from what ``data.files.orientation`` says."""
    ids = set(sheet[id_column].astype(str))
    if ids & set(frame.index.astype(str)) or not ids & set(frame.columns.astype(str)):
        return
    said = "genes_by_samples" if ORIENTATIONS[orientation] == "features_by_samples" else "samples_by_genes"
    other = "samples_by_genes" if said == "genes_by_samples" else "genes_by_samples"
    # the frame is samples x features: sample ids on its columns are on the file's other axis
    found = "first column" if said == "genes_by_samples" else "header (first row)"
    expected = "header (first row)" if said == "genes_by_samples" else "first column"
    raise CandleInputError(
        f"the sample ids of the sample sheet are in the file's {found}, not its {expected}: the file is laid out "
        f"{other}, but config key 'data.files.orientation' is {said}; set data.files.orientation: {other}",
        source=source,
    )


def _sample_order(
    data_ids: pd.Index, sheet: pd.DataFrame, *, id_column: str, source, data_name: str, missing_says: str
) -> np.ndarray:
    """The sheet's sample ids, checked to match the data's sample ids one to one."""
    missing_samples = sorted(set(sheet[id_column]) - set(data_ids))
    if missing_samples:
        raise CandleInputError(
            f"{len(missing_samples)} sample(s) of the sample sheet {missing_says}, e.g. {missing_samples[:3]}",
            source=source,
        )
    extra = sorted(set(data_ids) - set(sheet[id_column]))
    if extra:
        raise CandleInputError(
            f"{len(extra)} sample(s) in the {data_name} are not in the sample sheet, e.g. {extra[:3]}", source=source
        )
    return sheet[id_column].to_numpy()


def align_counts(
    counts: pd.DataFrame,
    genes: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    id_column: str,
    counts_source,
) -> CountData:
    """Order the matrix by the sample sheet and the gene table; every id must match."""
    sample_ids = _sample_order(
        counts.index,
        sheet,
        id_column=id_column,
        source=counts_source,
        data_name="counts",
        missing_says="have no column in the counts",
    )
    unannotated = sorted(set(counts.columns) - set(genes["gene_id"]))
    if unannotated:
        raise CandleInputError(
            f"{len(unannotated)} gene(s) have no annotation (length), e.g. {unannotated[:3]}", source=counts_source
        )
    genes = genes[genes["gene_id"].isin(counts.columns)].reset_index(drop=True)
    ordered = counts.loc[sample_ids, genes["gene_id"].to_numpy()]
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
    declared_classes=None,
) -> CountData:
    """Read the three inputs and return them validated and aligned.

    ``genes_path`` is a GTF (``.gtf``/``.gtf.gz``) or a gene table. ``declared_classes``, when
    given, lists the labels the sample sheet may use (None accepts every label).
    """
    sheet = read_sample_sheet(
        samples_path,
        id_column=id_column,
        label_column=label_column,
        group_column=group_column,
        declared_classes=declared_classes,
    )
    genes = read_gene_annotation(genes_path)
    counts = read_count_matrix(counts_path, orientation=orientation)
    _check_orientation(counts, sheet, id_column, orientation, counts_path)
    return align_counts(counts, genes, sheet, id_column=id_column, counts_source=counts_path)


def validate_matrix(frame: pd.DataFrame, source) -> np.ndarray:
    """Check that every value is a finite number that fits float32; return float32 values."""
    values = _numeric_values(frame)
    problems = ~np.isfinite(values) | (np.abs(values) > np.finfo(np.float32).max)
    if problems.any():
        r, c = (int(i[0]) for i in np.nonzero(problems))
        cell = frame.iat[r, c]
        why = _why_not_finite(cell) if not np.isfinite(values[r, c]) else "too large for float32"
        if why.startswith("NaN"):
            _short_row(source)
        raise CandleInputError(
            f"value {_shown(cell)} is not a finite number: {why}",
            source=source,
            where=f"sample '{frame.index[r]}', feature '{frame.columns[c]}'",
        )
    return values.astype(np.float32)


def ingest_matrix(
    matrix_path,
    samples_path,
    *,
    orientation: str = "samples_by_genes",
    id_column: str = "sample_id",
    label_column: str = "label",
    group_column: str | None = None,
    declared_classes=None,
) -> CandleData:
    """Read an already-normalized matrix and its sample sheet, validated and aligned.

    Returns ``(values, samples, features)`` (a :class:`CandleData` named tuple): float32
    samples x features in sample-sheet order, the sample-sheet rows, and ``feature_id`` in file
    order. ``orientation`` is ``samples_by_genes`` (alias ``samples_by_features``) or
    ``genes_by_samples`` (alias ``features_by_samples``). NaN/inf, text, duplicate ids and samples
    missing on either side are rejected.
    """
    sheet = read_sample_sheet(
        samples_path,
        id_column=id_column,
        label_column=label_column,
        group_column=group_column,
        declared_classes=declared_classes,
    )
    matrix = _read_oriented(matrix_path, orientation, "feature")
    _check_orientation(matrix, sheet, id_column, orientation, matrix_path)
    sample_ids = _sample_order(
        matrix.index,
        sheet,
        id_column=id_column,
        source=matrix_path,
        data_name="matrix",
        missing_says="have no data in the matrix",
    )
    ordered = matrix.loc[sample_ids]
    values = validate_matrix(ordered, matrix_path)
    features = pd.DataFrame({"feature_id": ordered.columns.to_numpy(dtype=object)})
    return CandleData(values, sheet.reset_index(drop=True), features)


def save_count_data(data: CountData, counts_path, genes_path, samples_path) -> None:
    write_npy(counts_path, data.counts)
    write_table(genes_path, data.genes)
    write_table(samples_path, data.samples)


def load_count_data(counts_path, genes_path, samples_path) -> CountData:
    return CountData(np.load(counts_path), pd.read_parquet(samples_path), pd.read_parquet(genes_path))
