"""Feature filters. Unsupervised filters that look at values use training rows only.

Order of the filters in :func:`select_features`: gene list (a landmark list such as LINCS L1000,
or any list of feature ids), then sparseness, then variance on the training rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from candle_lib.errors import CandleInputError


def sparseness_mask(values: np.ndarray, min_nonzero_samples: int) -> np.ndarray:
    """Keep features that are non-zero in at least ``min_nonzero_samples`` samples
    (CANDLE's sparseness threshold). Uses no labels."""
    return (np.asarray(values) != 0).sum(axis=0) >= int(min_nonzero_samples)


def top_variance_indices(train_values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` features of highest variance over the given (training) rows,
    in their original column order. Ties go to the earlier column."""
    variance = np.asarray(train_values, dtype=np.float64).var(axis=0)
    if k >= variance.size:
        return np.arange(variance.size)
    order = np.argsort(-variance, kind="stable")[:k]
    return np.sort(order)


_ENSEMBL_VERSION = re.compile(r"^(ENS[A-Z]*[0-9]{6,})\.[0-9]+(_PAR_Y)?$")


def _unversioned(feature_id: str) -> str:
    """``ENSG00000141510.16`` -> ``ENSG00000141510`` (Ensembl ids only; ``_PAR_Y`` kept)."""
    match = _ENSEMBL_VERSION.match(feature_id)
    return feature_id if match is None else match.group(1) + (match.group(2) or "")


def read_gene_list(path) -> list[str]:
    """Gene (feature) ids from a text file: one id per line; blank lines are skipped; ``#``
    starts a comment (a whole line or the end of a line); surrounding whitespace is stripped.
    Duplicates are dropped (first occurrence kept), so the list keeps file order.

    Raises :class:`CandleInputError` naming the file if it cannot be read, if a line holds more
    than one field (e.g. a tab-separated table), or if it holds no id at all.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CandleInputError(
            f"cannot read the gene list ({exc.__class__.__name__}: {exc})", source=str(path)
        ) from None
    genes: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if len(entry.split()) > 1:
            raise CandleInputError(
                f"expected one gene id per line, found {entry!r}", source=str(path), where=f"line {number}"
            )
        if entry not in seen:
            seen.add(entry)
            genes.append(entry)
    if not genes:
        raise CandleInputError("the gene list holds no gene id", source=str(path))
    return genes


def restrict_to_genes(
    feature_ids, gene_list, source: str | None = None, *, ignore_version: bool = False
) -> tuple[np.ndarray, int]:
    """Columns of the matrix whose feature id is in ``gene_list``.

    Returns ``(indices, n_missing)``: the column indices, increasing (the matrix's column order,
    not the list's; a feature id that occurs in several columns keeps all of them), and the number
    of distinct list ids that match no column. Ids are compared as exact strings; with
    ``ignore_version`` an Ensembl version suffix (``ENSG00000141510.16``) is dropped on both sides
    first. Raises :class:`CandleInputError` (naming ``source``, e.g. the gene list file) when no
    id of the list is in the matrix.
    """
    ids = [str(f) for f in feature_ids]
    wanted = {str(g) for g in gene_list}
    if ignore_version:
        ids = [_unversioned(f) for f in ids]
        wanted = {_unversioned(g) for g in wanted}
    keep = np.array([i for i, f in enumerate(ids) if f in wanted], dtype=np.int64)
    if keep.size == 0:
        example = ", ".join(sorted(wanted)[:3])
        raise CandleInputError(
            f"none of the {len(wanted)} genes in the list ({example}{', ...' if len(wanted) > 3 else ''}) "
            f"is a feature of the data (e.g. {', '.join(ids[:3])})",
            source=source,
        )
    n_missing = len(wanted - set(ids))
    return keep, n_missing


def select_features(
    values,
    train_rows,
    *,
    min_nonzero_samples: int = 0,
    top_variance: int | None = None,
    gene_list=None,
    feature_ids=None,
    source: str | None = None,
    ignore_version: bool = False,
) -> np.ndarray:
    """Indices of the features that pass the gene-list filter (if ``gene_list`` is given; it
    needs ``feature_ids``, the matrix's column ids; see :func:`restrict_to_genes`), then the
    sparseness filter, then the variance filter computed on ``train_rows`` only. Indices refer to
    the original columns and are increasing."""
    if gene_list is None:
        keep = np.flatnonzero(sparseness_mask(values, min_nonzero_samples))
    else:
        if feature_ids is None:
            raise ValueError("select_features: gene_list needs feature_ids (the matrix's column ids)")
        if len(feature_ids) != np.shape(values)[1]:
            raise ValueError(f"{len(feature_ids)} feature ids for a matrix of {np.shape(values)[1]} columns")
        candidates, _ = restrict_to_genes(feature_ids, gene_list, source, ignore_version=ignore_version)
        keep = candidates[sparseness_mask(np.asarray(values)[:, candidates], min_nonzero_samples)]
    if keep.size == 0:
        raise CandleInputError(
            f"no feature is non-zero in {min_nonzero_samples} samples; lower the sparseness threshold"
        )
    if top_variance and top_variance > keep.size:
        after = "the gene list and " if gene_list is not None else ""
        raise CandleInputError(
            f"config key 'data.filters.top_variance': {top_variance} is above the {keep.size} features left after "
            f"{after}data.filters.min_nonzero_samples: {min_nonzero_samples} (of {np.shape(values)[1]} in the data); "
            f"set it to at most {keep.size}, or null to keep them all",
            source=source,
        )
    if top_variance:
        sub = np.asarray(values)[np.asarray(train_rows)][:, keep]
        keep = keep[top_variance_indices(sub, top_variance)]
    return keep
