"""A deterministic synthetic compound-toxicity set shaped like Tox21 (the DeepTox grid's data).

Compounds carry the three feature blocks of DeepTox:

- ``descriptors`` (``DESC0001``...): real-valued molecular descriptors. The first half are
  continuous (logP-, weight-, polarity-like: linear in latent physico-chemical factors plus
  noise, any sign); the second half are counts of substructures (non-negative integers, many
  zeros), some of them driven by the toxicophores a compound carries;
- ``similarities``: ``TOXSIM01``... the similarity of the compound to each toxicophore and
  ``SCAFSIM01``... to each scaffold, in [0, 1] (Tversky similarity of the fingerprints:
  |A and B| / (|B| + 0.1 |A - B|), B the toxicophore's or scaffold's bits);
- ``ecfp4`` (``ECFP0001``...): binary ECFP4-like fingerprint bits, sparse: a scaffold's core bits
  (each on with probability 0.9 in its members), the bits of each toxicophore present, and a
  background where each bit has its own rare frequency (Beta(0.4, 12)), so that a sparseness
  threshold (keep bits set in at least N compounds) removes many of them.

Each compound belongs to one scaffold (skewed frequencies) and carries each toxicophore t with a
probability that depends on t and on its scaffold. Task k's label is

    logit = 2.5 * (sum of its toxicophores present) + 1.0 * z(its descriptor) + N(0, 0.5^2)
    active = logit > the (1 - active_fraction) quantile of the logits

so labels are learnable from a subset of features: the bits and similarities of the task's
toxicophores and one continuous descriptor (``informative``, the ground truth). Task names are
Tox21's twelve assays (``NR-AR``...) in order. The same arguments always give the same set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TOX21_TASKS = (
    "NR-AR",
    "NR-AR-LBD",
    "NR-AhR",
    "NR-Aromatase",
    "NR-ER",
    "NR-ER-LBD",
    "NR-PPAR-gamma",
    "SR-ARE",
    "SR-ATAD5",
    "SR-HSE",
    "SR-MMP",
    "SR-p53",
)
FEATURE_BLOCKS = ("descriptors", "similarities", "ecfp4")
CORE_BITS = 8  # fingerprint bits of each scaffold's core
PATTERN_BITS = 6  # fingerprint bits of each toxicophore
TOXICOPHORES_PER_TASK = 2
N_PHYSCHEM = 3  # latent physico-chemical factors behind the continuous descriptors
# The raw files of the workflow's tox21 source (see :meth:`SyntheticTox21.raw_tables`).
RAW_FILES = {"matrix": "matrix.parquet", "features": "features.tsv", "compounds": "compounds.tsv"}


@dataclass(frozen=True)
class SyntheticTox21:
    compounds: pd.DataFrame  # compound_id, scaffold (a group: keep scaffolds within one split), label (first task)
    descriptors: pd.DataFrame  # index compound_id; DESC0001... float32
    similarities: pd.DataFrame  # index compound_id; TOXSIM01..., SCAFSIM01... float32 in [0, 1]
    fingerprints: pd.DataFrame  # index compound_id; ECFP0001... uint8 0/1
    labels: pd.DataFrame  # index compound_id; one 0/1 (int8) column per task
    informative: dict[str, tuple[str, ...]]  # task -> the features its label is built from

    def block(self, name: str) -> pd.DataFrame:
        """One feature block by its name in :data:`FEATURE_BLOCKS`."""
        blocks = {"descriptors": self.descriptors, "similarities": self.similarities, "ecfp4": self.fingerprints}
        if name not in blocks:
            raise ValueError(f"feature block {name!r} is not one of {list(FEATURE_BLOCKS)}")
        return blocks[name]

    def feature_matrix(self, blocks=FEATURE_BLOCKS) -> tuple[np.ndarray, pd.DataFrame]:
        """(compounds x features float32 matrix, table of feature_id and block), blocks in the
        order given: the shape of a prepared dataset's matrix.npy and features.parquet."""
        if isinstance(blocks, str):
            blocks = (blocks,)
        frames = [self.block(name) for name in blocks]
        matrix = np.hstack([frame.to_numpy(dtype=np.float32) for frame in frames])
        features = pd.DataFrame(
            {
                "feature_id": [c for frame in frames for c in frame.columns],
                "block": [name for name, frame in zip(blocks, frames) for _ in frame.columns],
            }
        )
        return matrix, features

    def raw_tables(self) -> dict[str, pd.DataFrame]:
        """The tables of :data:`RAW_FILES`: ``matrix`` (compound_id, then every feature of the
        three blocks, compounds as rows), ``features`` (feature_id, block, in matrix column
        order) and ``compounds`` (compound_id, scaffold, label)."""
        matrix, features = self.feature_matrix()
        frame = pd.DataFrame(matrix, columns=features["feature_id"].to_list())
        frame.insert(0, "compound_id", self.compounds["compound_id"].to_numpy())
        return {"matrix": frame, "features": features, "compounds": self.compounds}


def _tversky(fingerprints: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Compounds x patterns similarity |A and B| / (|B| + 0.1 |A - B|)."""
    fp = fingerprints.astype(np.float32)
    common = fp @ patterns.T.astype(np.float32)
    only_compound = fp.sum(axis=1, keepdims=True) - common
    return (common / (patterns.sum(axis=1)[None, :] + 0.1 * only_compound)).astype(np.float32)


def _check(n_compounds, n_descriptors, n_fingerprint_bits, n_scaffolds, n_toxicophores, n_tasks, active_fraction):
    if n_compounds < 10:
        raise ValueError(f"n_compounds must be at least 10, got {n_compounds}")
    if n_scaffolds < 1:
        raise ValueError(f"n_scaffolds must be at least 1, got {n_scaffolds}")
    if n_toxicophores < TOXICOPHORES_PER_TASK:
        raise ValueError(f"n_toxicophores must be at least {TOXICOPHORES_PER_TASK}, got {n_toxicophores}")
    if not 1 <= n_tasks <= len(TOX21_TASKS):
        raise ValueError(f"n_tasks must lie in [1, {len(TOX21_TASKS)}], got {n_tasks}")
    if n_descriptors < 2 * n_tasks:
        raise ValueError(f"n_descriptors must be at least 2 * n_tasks = {2 * n_tasks}, got {n_descriptors}")
    needed = CORE_BITS * n_scaffolds + PATTERN_BITS * n_toxicophores
    if n_fingerprint_bits < 2 * needed:
        raise ValueError(
            f"n_fingerprint_bits must be at least {2 * needed} (twice the core and toxicophore bits), got {n_fingerprint_bits}"
        )
    if not 0.0 < active_fraction < 1.0:
        raise ValueError(f"active_fraction must lie in (0, 1), got {active_fraction}")


def synthetic_tox21(
    *,
    n_compounds: int = 600,
    n_descriptors: int = 40,
    n_fingerprint_bits: int = 1024,
    n_scaffolds: int = 12,
    n_toxicophores: int = 8,
    n_tasks: int = 3,
    active_fraction: float = 0.2,
    seed: int = 0,
) -> SyntheticTox21:
    """Generate the set (see the module docstring for the model)."""
    _check(n_compounds, n_descriptors, n_fingerprint_bits, n_scaffolds, n_toxicophores, n_tasks, active_fraction)
    rng = np.random.default_rng(seed)
    n = n_compounds

    # scaffolds and toxicophores
    scaffold = rng.choice(n_scaffolds, size=n, p=rng.dirichlet(np.full(n_scaffolds, 2.0)))
    propensity = rng.uniform(0.05, 0.3, n_toxicophores)[None, :] * rng.uniform(0.3, 2.0, (n_scaffolds, n_toxicophores))
    present = rng.random((n, n_toxicophores)) < np.clip(propensity[scaffold], 0.0, 0.9)

    # fingerprints: disjoint core and toxicophore bits, plus a rare background
    special = rng.choice(n_fingerprint_bits, CORE_BITS * n_scaffolds + PATTERN_BITS * n_toxicophores, replace=False)
    core_bits = special[: CORE_BITS * n_scaffolds].reshape(n_scaffolds, CORE_BITS)
    pattern_bits = special[CORE_BITS * n_scaffolds :].reshape(n_toxicophores, PATTERN_BITS)
    fingerprints = rng.random((n, n_fingerprint_bits)) < rng.beta(0.4, 12.0, n_fingerprint_bits)[None, :]
    fingerprints[np.arange(n)[:, None], core_bits[scaffold]] |= rng.random((n, CORE_BITS)) < 0.9
    for t in range(n_toxicophores):
        fingerprints[np.ix_(present[:, t], pattern_bits[t])] = True
    cores = np.zeros((n_scaffolds, n_fingerprint_bits), dtype=bool)
    np.put_along_axis(cores, core_bits, True, axis=1)
    patterns = np.zeros((n_toxicophores, n_fingerprint_bits), dtype=bool)
    np.put_along_axis(patterns, pattern_bits, True, axis=1)

    # descriptors: continuous ones from physico-chemical latents and the scaffold, counts from toxicophores
    n_continuous = n_descriptors // 2
    n_counts = n_descriptors - n_continuous
    physchem = rng.normal(0.0, 1.0, (n, N_PHYSCHEM)) + rng.normal(0.0, 0.7, (n_scaffolds, N_PHYSCHEM))[scaffold]
    continuous = physchem @ rng.normal(0.0, 1.0, (N_PHYSCHEM, n_continuous)) + rng.normal(0.0, 0.3, (n, n_continuous))
    continuous = continuous * rng.uniform(0.5, 50.0, n_continuous) + rng.uniform(-5.0, 100.0, n_continuous)
    driven = rng.random((n_toxicophores, n_counts)) < 1.5 / n_toxicophores
    log_rate = np.log(rng.uniform(0.02, 0.5, n_counts))[None, :] + 1.8 * (present.astype(float) @ driven)
    counts = rng.poisson(np.exp(log_rate))

    # labels
    task_names = TOX21_TASKS[:n_tasks]
    labels, informative = {}, {}
    for k, task in enumerate(task_names):
        toxicophores = rng.choice(n_toxicophores, TOXICOPHORES_PER_TASK, replace=False)
        descriptor = k  # one continuous descriptor per task
        z = (continuous[:, descriptor] - continuous[:, descriptor].mean()) / continuous[:, descriptor].std()
        logit = 2.5 * present[:, toxicophores].sum(axis=1) + 1.0 * z + rng.normal(0.0, 0.5, n)
        labels[task] = (logit > np.quantile(logit, 1.0 - active_fraction)).astype(np.int8)
        informative[task] = tuple(
            [f"DESC{descriptor + 1:04d}"]
            + [f"TOXSIM{t + 1:02d}" for t in sorted(toxicophores)]
            + [f"ECFP{b + 1:04d}" for b in sorted(pattern_bits[toxicophores].ravel())]
        )

    ids = pd.Index([f"TOX{i + 1:05d}" for i in range(n)], name="compound_id")
    descriptors = pd.DataFrame(
        np.hstack([continuous, counts]).astype(np.float32),
        index=ids,
        columns=[f"DESC{j + 1:04d}" for j in range(n_descriptors)],
    )
    similarities = pd.DataFrame(
        np.hstack([_tversky(fingerprints, patterns), _tversky(fingerprints, cores)]),
        index=ids,
        columns=[f"TOXSIM{t + 1:02d}" for t in range(n_toxicophores)]
        + [f"SCAFSIM{s + 1:02d}" for s in range(n_scaffolds)],
    )
    fingerprint_frame = pd.DataFrame(
        fingerprints.astype(np.uint8), index=ids, columns=[f"ECFP{b + 1:04d}" for b in range(n_fingerprint_bits)]
    )
    label_frame = pd.DataFrame(labels, index=ids)
    compounds = pd.DataFrame(
        {
            "compound_id": ids,
            "scaffold": [f"SCF{s + 1:03d}" for s in scaffold],
            "label": np.where(label_frame[task_names[0]].to_numpy() == 1, "active", "inactive"),
        }
    )
    return SyntheticTox21(compounds, descriptors, similarities, fingerprint_frame, label_frame, informative)
