"""Split assignment: train/val/test plus k folds, stratified by label and grouped (e.g. by
patient) so that no group straddles two parts. Built on scikit-learn's StratifiedGroupKFold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from .errors import CandleInputError


def _one_fold(labels, groups, n_splits: int, seed: int) -> np.ndarray:
    """Boolean mask of the first fold of a stratified, grouped n_splits-fold partition."""
    if len(set(groups)) < n_splits:
        raise CandleInputError(f"only {len(set(groups))} groups; cannot make {n_splits} grouped parts")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    _, held = next(splitter.split(np.zeros(len(labels)), labels, groups))
    mask = np.zeros(len(labels), dtype=bool)
    mask[held] = True
    return mask


def assign_splits(
    sample_ids,
    labels,
    groups=None,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    n_folds: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Return one table: sample_id, split (train/val/test), fold (0..k-1, or -1 for test).

    The test part is the first of round(1/test_fraction) stratified grouped parts; the val part is
    taken the same way from the rest, with val_fraction a share of all samples; folds partition
    train+val. Without groups, each sample is its own group.
    """
    labels = np.asarray([str(v) for v in labels])
    groups = np.asarray(sample_ids if groups is None else [str(g) for g in groups])
    if not 0 < test_fraction < 1 or not 0 < val_fraction < 1 or test_fraction + val_fraction >= 1:
        raise CandleInputError(
            f"test_fraction={test_fraction} and val_fraction={val_fraction} must be in (0, 1) with a sum below 1"
        )
    n = len(labels)
    test = _one_fold(labels, groups, max(2, round(1 / test_fraction)), seed)
    rest = np.flatnonzero(~test)
    val_share = val_fraction / (1 - test_fraction)
    val_in_rest = _one_fold(labels[rest], groups[rest], max(2, round(1 / val_share)), seed + 1)
    split = np.full(n, "train", dtype=object)
    split[test] = "test"
    split[rest[val_in_rest]] = "val"
    fold = np.full(n, -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed + 2)
    for k, (_, held) in enumerate(splitter.split(np.zeros(rest.size), labels[rest], groups[rest])):
        fold[rest[held]] = k
    return pd.DataFrame({"sample_id": list(map(str, sample_ids)), "split": split.astype(str), "fold": fold})
