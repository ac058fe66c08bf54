"""A deterministic synthetic RNA-seq cohort shaped like CANDLE's NT3 task (normal vs tumor).

What is simulated, and why:
- raw integer read counts, gamma-Poisson (negative binomial) with dispersion ``dispersion``;
- per-sample library sizes, log-normal around ``library_size_median`` reads;
- a skewed (log-normal) baseline abundance per gene, a block of nearly silent genes, and reads
  proportional to gene length, so that length normalization (FPKM/TPM) matters;
- gene lengths and gene types (a ``protein_coding_fraction`` of protein-coding genes);
- patients: a ``paired_fraction`` of them give a matched normal and tumor sample, the others a
  tumor only; each patient has its own expression offset, shared by both samples of a pair, so
  a split that lets a pair straddle train and test leaks information;
- a minority of genes (``de_fraction``) differ between classes by about ``log2_fold_change``,
  diluted in each tumor by a purity drawn from U(``purity_min``, 1), so that low-purity tumors
  look like normals and the task is learnable but not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

GENE_TYPES_OTHER = ("lncRNA", "processed_pseudogene", "misc_RNA", "snRNA")


@dataclass(frozen=True)
class SyntheticCohort:
    counts: pd.DataFrame  # genes x samples, integer read counts, index gene_id
    genes: pd.DataFrame  # gene_id, gene_type, length
    samples: pd.DataFrame  # sample_id, patient_id, label
    differential_genes: tuple[str, ...]  # ground truth, for tests and analysis


def synthetic_nt3_cohort(
    *,
    n_patients: int = 400,
    paired_fraction: float = 0.5,
    n_genes: int = 2000,
    protein_coding_fraction: float = 0.6,
    silent_fraction: float = 0.1,
    de_fraction: float = 0.08,
    log2_fold_change: float = 1.5,
    purity_min: float = 0.3,
    patient_sd: float = 0.3,
    dispersion: float = 0.15,
    library_size_median: float = 2.0e7,
    seed: int = 0,
) -> SyntheticCohort:
    """Generate the cohort. The same arguments always give the same cohort."""
    if n_patients < 2 or n_genes < 10:
        raise ValueError("need at least 2 patients and 10 genes")
    for name, value in (
        ("paired_fraction", paired_fraction),
        ("protein_coding_fraction", protein_coding_fraction),
        ("silent_fraction", silent_fraction),
        ("de_fraction", de_fraction),
        ("purity_min", purity_min),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
    rng = np.random.default_rng(seed)

    gene_ids = np.array([f"SYNG{i:06d}" for i in range(1, n_genes + 1)])
    n_pc = int(round(protein_coding_fraction * n_genes))
    gene_type = np.array(["protein_coding"] * n_pc + list(rng.choice(GENE_TYPES_OTHER, n_genes - n_pc)))
    rng.shuffle(gene_type)
    length = np.clip(rng.lognormal(np.log(2500.0), 0.8, n_genes), 150, 200_000).astype(np.int64)

    log_abundance = rng.normal(0.0, 1.3, n_genes)
    silent = rng.random(n_genes) < silent_fraction
    log_abundance[silent] -= 9.0

    n_de = max(1, int(round(de_fraction * n_genes)))
    de_index = rng.choice(np.flatnonzero(~silent), size=n_de, replace=False)
    lfc = np.zeros(n_genes)
    lfc[de_index] = rng.choice([-1.0, 1.0], n_de) * rng.normal(log2_fold_change, 0.25 * log2_fold_change, n_de)

    n_paired = int(round(paired_fraction * n_patients))
    sample_ids, patient_of, is_tumor = [], [], []
    for p in range(n_patients):
        pid = f"P{p + 1:04d}"
        if p < n_paired:
            sample_ids += [f"{pid}-N", f"{pid}-T"]
            patient_of += [p, p]
            is_tumor += [False, True]
        else:
            sample_ids.append(f"{pid}-T")
            patient_of.append(p)
            is_tumor.append(True)
    patient_of = np.array(patient_of)
    is_tumor = np.array(is_tumor)
    n_samples = len(sample_ids)

    patient_offset = rng.normal(0.0, patient_sd, (n_patients, n_genes))
    purity = np.where(is_tumor, rng.uniform(purity_min, 1.0, n_samples), 0.0)
    log_expr = (
        log_abundance[None, :]
        + patient_offset[patient_of]
        + np.log(2.0) * purity[:, None] * lfc[None, :]
        + np.log(length)[None, :]
    )
    rate = np.exp(log_expr - log_expr.max(axis=1, keepdims=True))
    rate /= rate.sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(library_size_median), 0.35, n_samples)
    mu = rate * library[:, None]
    shape = 1.0 / dispersion
    lam = rng.gamma(shape, mu * dispersion)
    counts = rng.poisson(lam).astype(np.int64)

    counts_df = pd.DataFrame(counts.T, index=pd.Index(gene_ids, name="gene_id"), columns=sample_ids)
    genes = pd.DataFrame({"gene_id": gene_ids, "gene_type": gene_type, "length": length})
    samples = pd.DataFrame(
        {
            "sample_id": sample_ids,
            "patient_id": [f"P{p + 1:04d}" for p in patient_of],
            "label": np.where(is_tumor, "tumor", "normal"),
        }
    )
    return SyntheticCohort(counts_df, genes, samples, tuple(gene_ids[np.sort(de_index)]))
