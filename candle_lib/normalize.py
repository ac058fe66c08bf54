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

from .errors import CandleInputError

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


def fpkm(counts, lengths, protein_coding=None, sample_ids=None) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    pc = _protein_coding(c.shape[1], protein_coding)
    rc_pc = _per_sample(c[:, pc].sum(axis=1), "the protein-coding read total", sample_ids)
    return c * 1e9 / (rc_pc[:, None] * np.asarray(lengths, dtype=np.float64)[None, :])


def fpkm_uq(counts, lengths, protein_coding=None, sample_ids=None) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    pc = _protein_coding(c.shape[1], protein_coding)
    q75 = _per_sample(np.percentile(c[:, pc], 75, axis=1), "the upper-quartile count", sample_ids)
    return c * 1e9 / (q75[:, None] * np.asarray(lengths, dtype=np.float64)[None, :])


def tpm(counts, lengths, protein_coding=None, sample_ids=None) -> np.ndarray:
    rate = np.asarray(counts, dtype=np.float64) / np.asarray(lengths, dtype=np.float64)[None, :]
    total = _per_sample(rate.sum(axis=1), "the length-normalized read total", sample_ids)
    return rate / total[:, None] * 1e6


def cpm(counts, lengths=None, protein_coding=None, sample_ids=None) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    total = _per_sample(c.sum(axis=1), "the read total", sample_ids)
    return c / total[:, None] * 1e6


def normalize(method: str, counts, lengths, protein_coding=None, sample_ids=None) -> np.ndarray:
    """Apply one of :data:`NORMALIZATIONS`; returns float64 samples x genes."""
    if method == "none":
        return np.asarray(counts, dtype=np.float64)
    functions = {"fpkm": fpkm, "fpkm_uq": fpkm_uq, "tpm": tpm, "cpm": cpm}
    if method not in functions:
        raise CandleInputError(f"unknown normalization '{method}'; choose one of {NORMALIZATIONS}")
    return functions[method](counts, lengths, protein_coding, sample_ids)


def transform(method: str, values: np.ndarray) -> np.ndarray:
    if method == "log2p1":
        return np.log2(values + 1.0)
    if method == "none":
        return values
    raise CandleInputError(f"unknown transform '{method}'; choose one of {TRANSFORMS}")
