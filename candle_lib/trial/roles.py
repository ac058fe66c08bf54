"""A trial's role: which rows of the prepared dataset it trains on, which it is scored on, and
what is done to its training rows. Every key of a role is part of the trial's content address.

Keys (only ``kind``, ``train`` and ``eval`` are required):

- ``kind``: a label (holdout, final, fold, member, subsample, group, transfer, noise, ...);
- ``train``: the splits whose rows may be trained on, e.g. ``["train"]`` or ``["train", "val"]``;
- ``eval``: the split scored (and monitored during training unless it is ``test``), or
  ``"fold"`` with ``fold``: then the pool ``train`` is cut by the ``fold`` column, training on
  every other fold and scoring fold k (cross-validation);
- ``fold``: k, as above;
- ``subsample``: a boolean column of the split table (``subsample_f0.25_r0``): train on its rows;
- ``bootstrap``: an integer column (``bootstrap_3``): each training row repeated that many times;
- ``group_column`` with ``train_groups`` and/or ``eval_groups``: keep only the rows whose group
  is listed (training-data analysis across studies, tissues or cancer types);
- ``predict``: further splits to predict and score besides ``eval`` (e.g. ``["test"]`` for
  ensemble members), written to predictions.parquet with their split;
- ``label_noise``: the share of training rows whose label is replaced by another class (or, for
  regression, whose target gets Gaussian noise of that many target standard deviations);
- ``feature_noise``: the standard deviation of Gaussian noise added to the scaled training
  features; ``noise_seed`` seeds both (default 0). Evaluation rows are never touched;
- ``init``: the id of a trial whose saved model gives the starting weights (fine-tuning);
- ``save_model``: write the trained model as ``model.keras`` (also done for kind ``final``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError

KNOWN_KEYS = {
    "kind",
    "train",
    "eval",
    "fold",
    "subsample",
    "bootstrap",
    "group_column",
    "train_groups",
    "eval_groups",
    "predict",
    "label_noise",
    "feature_noise",
    "noise_seed",
    "init",
    "save_model",
}


@dataclass(frozen=True)
class RoleRows:
    train: np.ndarray  # row indices, in order, repeated for bootstrap resamples
    eval: np.ndarray
    extra: dict  # split name -> row indices predicted besides eval
    prefix: str  # metric prefix of the eval rows: val, test, ...


def _in_splits(samples: pd.DataFrame, splits) -> np.ndarray:
    wanted = (splits,) if isinstance(splits, str) else tuple(splits)
    return samples["split"].isin(wanted).to_numpy().copy()


def _column(samples: pd.DataFrame, name: str, key: str) -> np.ndarray:
    if name not in samples.columns:
        raise CandleInputError(
            f"the split table has no column {name!r} (data.splits must ask for it)", where=f"role.{key}"
        )
    return samples[name].to_numpy()


def _groups_mask(samples: pd.DataFrame, role: dict, key: str) -> np.ndarray:
    if key not in role:
        return np.ones(len(samples), dtype=bool)
    groups = _column(samples, role.get("group_column", "logo_group"), "group_column").astype(str)
    return np.isin(groups, [str(g) for g in role[key]])


def role_rows(samples: pd.DataFrame, role: dict) -> RoleRows:
    """The rows of ``samples`` (a prepared dataset's sample table) that ``role`` trains on, scores
    and predicts; errors name the role key that does not fit the split table."""
    unknown = set(role) - KNOWN_KEYS
    if unknown:
        raise CandleInputError(f"unknown role keys {sorted(unknown)}", where="role")
    pool = _in_splits(samples, role["train"])
    if role["eval"] == "fold":
        if "fold" not in role:
            raise CandleInputError("eval 'fold' needs the fold number", where="role.fold")
        fold = _column(samples, "fold", "fold")
        train_mask, eval_mask, prefix = pool & (fold != role["fold"]), pool & (fold == role["fold"]), "val"
    else:
        train_mask, eval_mask, prefix = pool, _in_splits(samples, role["eval"]), str(role["eval"])
    train_mask = train_mask & _groups_mask(samples, role, "train_groups")
    eval_mask = eval_mask & _groups_mask(samples, role, "eval_groups")
    if "subsample" in role:
        train_mask = train_mask & _column(samples, role["subsample"], "subsample").astype(bool)
    train = np.flatnonzero(train_mask)
    if "bootstrap" in role:
        counts = _column(samples, role["bootstrap"], "bootstrap").astype(np.int64)
        train = np.repeat(train, counts[train])
    if len(train) == 0 or not eval_mask.any():
        raise CandleInputError(f"the role {role} selects no training or no evaluation rows", where="role")
    extra = {split: np.flatnonzero(_in_splits(samples, split) & ~eval_mask) for split in role.get("predict", [])}
    return RoleRows(train, np.flatnonzero(eval_mask), extra, prefix)


def noisy_label_codes(codes: np.ndarray, n_classes: int, share: float, seed: int) -> np.ndarray:
    """A copy of ``codes`` in which round(share * n) rows, drawn without replacement, get another
    class, uniformly among the n_classes - 1 others."""
    rng = np.random.default_rng([int(seed), 1])
    out = np.array(codes, copy=True)
    flipped = rng.choice(len(out), size=int(round(share * len(out))), replace=False)
    out[flipped] = (out[flipped] + rng.integers(1, n_classes, size=len(flipped))) % n_classes
    return out


def noisy_targets(targets: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Regression targets plus Gaussian noise of ``share`` target standard deviations."""
    rng = np.random.default_rng([int(seed), 1])
    sd = float(np.std(targets))
    return (targets + rng.normal(0.0, share * sd, size=targets.shape)).astype(targets.dtype)


def add_feature_noise(x: np.ndarray, sd: float, seed: int) -> np.ndarray:
    """Add N(0, sd^2) noise to every entry of ``x`` in place, drawn in row blocks; returns x."""
    rng = np.random.default_rng([int(seed), 2])
    block = max(1, (1 << 20) // max(1, x[0].size if len(x) else 1))
    for start in range(0, len(x), block):
        part = x[start : start + block]
        part += rng.normal(0.0, sd, size=part.shape).astype(x.dtype)
    return x
