"""RNA-seq normalizations and transforms, exactly as defined (GDC's mRNA quantification).

With RC_g the reads of gene g in a sample, L its length in base pairs, RC_pc the sample's reads
on protein-coding genes, and RC_g75 the 75th percentile (numpy's default linear interpolation)
of the sample's counts over protein-coding genes, zeros included:

- ``fpkm``:    FPKM    = RC_g * 1e9 / (RC_pc * L)
- ``fpkm_uq``: FPKM-UQ = RC_g * 1e9 / (RC_g75 * L)
- ``tpm``:     TPM     = (RC_g / L) / sum_h (RC_h / L_h) * 1e6
- ``cpm``:     CPM     = RC_g / sum_h RC_h * 1e6
- ``none``:    the counts as they are.

When the annotation has no gene types, every gene counts as protein-coding.
Transforms: ``log2p1`` = log2(x + 1), or ``none``.
"""

from __future__ import annotations

import numpy as np

from candle_lib.errors import CandleInputError

NORMALIZATIONS = ("fpkm", "fpkm_uq", "tpm", "cpm", "none")
TRANSFORMS = ("log2p1", "none")


def _protein_coding(n_genes: int, protein_coding: np.ndarray | None) -> np.ndarray:
    if protein_coding is None:
        return np.ones(n_genes, dtype=bool)
    mask = np.asarray(protein_coding, dtype=bool)
    if not mask.any():
        raise CandleInputError("no protein-coding genes in the annotation; FPKM/FPKM-UQ need some")
    return mask


def _per_sample(values: np.ndarray, what: str, sample_ids) -> np.ndarray:
    zero = np.flatnonzero(values <= 0)
    if zero.size:
        who = sample_ids[zero[0]] if sample_ids is not None else f"row {zero[0]}"
        raise CandleInputError(f"{what} is zero for sample '{who}'; it cannot be normalized")
    return values


COUNTING_CAP = 4096  # counts below this are order statistics read off a histogram
COUNTING_ROWS = 64  # rows per histogram pass (its size is rows x (COUNTING_CAP + 1))


def _order_statistics_by_counting(values: np.ndarray, lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lo-th and (lo+1)-th smallest value of each row of small unsigned integers, from a
    histogram of min(value, COUNTING_CAP) per row (exact whenever both lie below the cap), and
    the rows where they do not (to be partitioned instead)."""
    rows, n = values.shape
    width = COUNTING_CAP + 1
    below = np.empty(rows, dtype=np.int64)
    above = np.empty(rows, dtype=np.int64)
    for start in range(0, rows, COUNTING_ROWS):
        part = np.minimum(values[start : start + COUNTING_ROWS], np.uint32(COUNTING_CAP), dtype=np.uint32)
        k = len(part)
        part += (np.arange(k, dtype=np.uint32) * width)[:, None]  # each row its own bins
        cumulative = np.bincount(part.ravel(), minlength=k * width).reshape(k, width).cumsum(axis=1)
        below[start : start + k] = (cumulative < lo + 1).sum(axis=1)  # smallest v with >= lo+1 values <= v
        above[start : start + k] = (cumulative < min(lo + 2, n)).sum(axis=1)
    return below, above, above >= COUNTING_CAP


def upper_quartiles(values: np.ndarray, *, owned: bool = False) -> np.ndarray:
    """``np.percentile(values, 75, axis=1)`` (linear interpolation), bit for bit. Read counts
    (non-negative integers) take their two order statistics from a per-row histogram, which is
    ~2x faster than partitioning; rows whose quartile lies above COUNTING_CAP, and other
    values, are partitioned once: after partitioning at the lower order statistic, the upper one
    is the minimum of what lies above it. The interpolation is numpy's own (its ``_lerp``).
    ``owned``: ``values`` is a scratch array that may be reordered."""
    if values.dtype.kind == "u" and values.dtype.itemsize <= 4:
        pass  # already a small unsigned integer type
    elif values.dtype.kind in "iu" and values.size and values.min() >= 0 and values.max() < 2**32:
        values, owned = (
            values.astype(np.uint32),
            True,
        )  # the same order statistics; partitions ~2x faster than int64/float64
    n = values.shape[1]
    virtual = 0.75 * (n - 1)
    lo = int(np.floor(virtual))
    gamma = virtual - lo
    if values.dtype.kind == "u" and n:
        below_i, above_i, rest = _order_statistics_by_counting(values, lo)
        below, above = below_i.astype(np.float64), above_i.astype(np.float64)
        if rest.any():
            below[rest], above[rest] = _partitioned_order_statistics(values[rest], lo, owned=True)
    else:
        below, above = _partitioned_order_statistics(values, lo, owned=owned)
    diff = above - below
    return above - diff * (1.0 - gamma) if gamma >= 0.5 else below + diff * gamma


def _partitioned_order_statistics(values: np.ndarray, lo: int, *, owned: bool) -> tuple[np.ndarray, np.ndarray]:
    part = values if owned else values.copy()
    part.partition(lo, axis=1)  # in place
    below = part[:, lo].astype(np.float64)
    above = part[:, lo + 1 :].min(axis=1).astype(np.float64) if lo + 1 < part.shape[1] else below
    return below, above


# Each normalization works in place on a float64 array ``c`` (a copy of the counts, or a block of
# rows of them); every statistic is per sample, so a block gives the same bits as the whole matrix.


def _fpkm_inplace(c, lengths, protein_coding, sample_ids, per_gene_scratch=None, raw=None) -> np.ndarray:
    pc = _protein_coding(c.shape[1], protein_coding)
    rc_pc = _per_sample(c[:, pc].sum(axis=1), "the protein-coding read total", sample_ids)
    return _scale_by_length(c, rc_pc, lengths, per_gene_scratch)


def _fpkm_uq_inplace(c, lengths, protein_coding, sample_ids, per_gene_scratch=None, raw=None) -> np.ndarray:
    """``raw``: the same rows as the original (integer) counts, whose quartiles are cheaper."""
    pc = _protein_coding(c.shape[1], protein_coding)
    source = c if raw is None else raw
    q75 = _per_sample(
        upper_quartiles(np.take(source, np.flatnonzero(pc), axis=1), owned=True), "the upper-quartile count", sample_ids
    )
    return _scale_by_length(c, q75, lengths, per_gene_scratch)


def _scale_by_length(c, per_sample, lengths, scratch) -> np.ndarray:
    """c * 1e9 / (per_sample * L), in place."""
    c *= 1e9
    c /= np.multiply(per_sample[:, None], np.asarray(lengths, dtype=np.float64)[None, :], out=scratch)
    return c


def _tpm_inplace(c, lengths, protein_coding, sample_ids, per_gene_scratch=None, raw=None) -> np.ndarray:
    c /= np.asarray(lengths, dtype=np.float64)[None, :]
    total = _per_sample(c.sum(axis=1), "the length-normalized read total", sample_ids)
    c /= total[:, None]
    c *= 1e6
    return c


def _cpm_inplace(c, lengths, protein_coding, sample_ids, per_gene_scratch=None, raw=None) -> np.ndarray:
    total = _per_sample(c.sum(axis=1), "the read total", sample_ids)
    c /= total[:, None]
    c *= 1e6
    return c


def _none_inplace(c, lengths, protein_coding, sample_ids, per_gene_scratch=None, raw=None) -> np.ndarray:
    return c


IN_PLACE = {
    "fpkm": _fpkm_inplace,
    "fpkm_uq": _fpkm_uq_inplace,
    "tpm": _tpm_inplace,
    "cpm": _cpm_inplace,
    "none": _none_inplace,
}


def _public(method: str):
    def normalized(counts, lengths=None, protein_coding=None, sample_ids=None) -> np.ndarray:
        return IN_PLACE[method](np.array(counts, dtype=np.float64), lengths, protein_coding, sample_ids)

    normalized.__name__ = method
    normalized.__doc__ = f"{method} of a samples x genes count matrix (see the module docstring); float64."
    return normalized


fpkm, fpkm_uq, tpm, cpm = (_public(m) for m in ("fpkm", "fpkm_uq", "tpm", "cpm"))


def normalize(method: str, counts, lengths, protein_coding=None, sample_ids=None) -> np.ndarray:
    """Apply one of :data:`NORMALIZATIONS`; returns float64 samples x genes."""
    _check_method(method)
    return IN_PLACE[method](np.array(counts, dtype=np.float64), lengths, protein_coding, sample_ids)


def _check_method(method: str) -> None:
    if method not in IN_PLACE:
        raise CandleInputError(f"unknown normalization '{method}'; choose one of {NORMALIZATIONS}")


def _transform_inplace(method: str, values: np.ndarray) -> np.ndarray:
    if method == "log2p1":
        values += 1.0
        return np.log2(values, out=values)
    if method == "none":
        return values
    raise CandleInputError(f"unknown transform '{method}'; choose one of {TRANSFORMS}")


def transform(method: str, values: np.ndarray) -> np.ndarray:
    """log2(x + 1) (``log2p1``) or the values as they are (``none``), on a float64 copy."""
    return _transform_inplace(method, np.array(values, dtype=np.float64))


BLOCK_ROWS = 16  # rows per block: 16 x 60,483 float64 values (7.7 MB) stay in the CPU cache


def normalize_to_float32(
    method: str, transform_name: str, counts, lengths, protein_coding=None, sample_ids=None
) -> np.ndarray:
    """``transform(normalize(...)).astype(float32)``, bit for bit, without its full-size float64
    temporaries: every statistic is per sample, so the same float64 arithmetic runs on blocks of
    :data:`BLOCK_ROWS` rows, each written into the float32 result (bench/bench_prepare.py)."""
    _check_method(method)
    _transform_inplace(transform_name, np.zeros((0, 1)))  # an unknown transform fails before the work
    counts = np.asarray(counts)
    result = np.empty(counts.shape, dtype=np.float32)
    values = np.empty((BLOCK_ROWS, counts.shape[1]), dtype=np.float64)
    scratch = np.empty_like(values)
    for start in range(0, counts.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, counts.shape[0])
        block = values[: stop - start]
        block[...] = counts[start:stop]  # cast by assignment: much faster than inside the ufuncs
        ids = None if sample_ids is None else np.asarray(sample_ids)[start:stop]
        IN_PLACE[method](block, lengths, protein_coding, ids, scratch[: stop - start], raw=counts[start:stop])
        result[start:stop] = _transform_inplace(transform_name, block)
    return result
