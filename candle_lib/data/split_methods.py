"""Split assignment: train/val/test plus k folds, stratified by label and grouped (e.g. by
patient) so that no group straddles two parts; plus the other resampling schemes of CANDLE's
workflows (fractional training subsets, bootstrap resamples, leave-one-group-out).

Everything is seeded and recorded in ONE split table: a DataFrame with ``sample_id`` and one
column per split kind (``split``, ``fold``, ``subsample_f0.25_r0``, ``bootstrap_0``,
``logo_group``, ...). The functions that add columns return a new table and never change the
one they are given.

Built on scikit-learn: StratifiedGroupKFold when groups are given, StratifiedKFold (plain
stratified k-fold) when they are not, LeaveOneGroupOut.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from candle_lib.errors import CandleInputError


def _too_few(key: str, what: str, n_splits: int, have: int, unit: str, rows: str) -> CandleInputError:
    if key == "data.splits.n_folds":
        said, fix = f"{n_splits} {what}", f"set it to at most {have}" if have >= 2 else f"give more {unit}"
    else:
        part = key.rsplit(".", 1)[-1].split("_")[0]
        said, fix = f"the {part} part is one of {n_splits} {what}, which", f"raise it, or give more {unit}"
    return CandleInputError(
        f"config key '{key}': {said} need at least {n_splits} {unit}, but {rows} hold only {have}; {fix}"
    )


def _partition(
    labels, groups, n_splits: int, seed: int, what: str = "parts", key: str = "", rows: str = "the rows"
) -> np.ndarray:
    """Part index (0..n_splits-1) of every row in a shuffled stratified n_splits-fold partition:
    StratifiedGroupKFold when ``groups`` is given (a group never straddles two parts), plain
    StratifiedKFold when ``groups`` is None (each class spread over the parts as evenly as
    possible: per-class counts of two parts differ by at most one). Too few groups (samples) is
    an error naming ``key``, the config key that asked for the parts."""
    n = len(labels)
    if groups is not None:
        if len(set(groups)) < n_splits:
            if key:
                raise _too_few(key, f"grouped {what}", n_splits, len(set(groups)), "groups", rows)
            raise CandleInputError(f"only {len(set(groups))} groups; cannot make {n_splits} grouped {what}")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        if n < n_splits:
            if key:
                raise _too_few(key, what, n_splits, n, "samples", rows)
            raise CandleInputError(f"only {n} samples; cannot make {n_splits} {what}")
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    part = np.full(n, -1, dtype=np.int64)
    try:
        for k, (_, held) in enumerate(splitter.split(np.zeros(n), labels, groups)):
            part[held] = k
    except ValueError as exc:
        raise CandleInputError(f"cannot make {n_splits} stratified {what}: {exc}") from None
    return part


def _one_fold(labels, groups, n_splits: int, seed: int, key: str = "", rows: str = "the rows") -> np.ndarray:
    """Boolean mask of the first fold of a stratified (grouped if groups is not None)
    n_splits-fold partition."""
    return _partition(labels, groups, n_splits, seed, key=key, rows=rows) == 0


def _check_class_sizes(labels: np.ndarray, groups, fixed_test) -> None:
    """Every class needs a sample (of its own group) in train, in val and, unless the test rows
    are given, in test: else the class is missing from a part and val_auc / test_auc are null."""
    outside = np.ones(len(labels), dtype=bool) if fixed_test is None else ~np.asarray(fixed_test)
    needed = 3 if fixed_test is None else 2
    parts = "train, val and test" if fixed_test is None else "train and val (outside the given test rows)"
    for label in sorted(set(labels[outside])):
        rows = outside & (labels == label)
        count = int(rows.sum())
        n_groups = len(set(groups[rows])) if groups is not None else count
        if n_groups < needed:
            counted = f"{count} sample{'s' if count != 1 else ''}"
            if groups is not None:
                counted += f" in {n_groups} group{'s' if n_groups != 1 else ''} (data.sample_sheet.group_column)"
            raise CandleInputError(
                f"class '{label}' (data.sample_sheet.label_column) has only {counted}; {parts} each need one of every class (else val_auc/test_auc "
                f"are null): give it at least {needed} {'groups' if groups is not None else 'samples'}, merge it "
                "into another class, or drop its samples from the sample sheet"
            )


def assign_splits(
    sample_ids,
    labels,
    groups=None,
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    n_folds: int = 5,
    seed: int = 0,
    fixed_test=None,
) -> pd.DataFrame:
    """Return one table: sample_id, split (train/val/test), fold (0..k-1, or -1 for test).

    The test part is the first of round(1/test_fraction) stratified grouped parts (seed ``seed``);
    the val part is taken the same way from the rest (seed ``seed + 1``), with val_fraction a share
    of all samples, i.e. the first of round((1 - t)/val_fraction) parts of the rest, where t is the
    test share; folds partition train+val (seed ``seed + 2``). Input order is kept.

    With ``groups`` (e.g. patient ids) every part and fold is made by StratifiedGroupKFold, so a
    group never straddles two parts. Without groups every part is made by plain StratifiedKFold
    (shuffle=True): e.g. the test part is StratifiedKFold(round(1/test_fraction), shuffle=True,
    random_state=seed)'s first held-out fold, as with a stratified train_test_split.

    ``fixed_test``: optional boolean mask (one entry per sample) of the rows that must be the test
    part, e.g. CANDLE's given test file. Then test_fraction is not used, t is the mask's share,
    val and folds are drawn from the other rows, and a group with rows on both sides is an error.
    """
    labels = np.asarray([str(v) for v in labels])
    n = len(labels)
    grouped = groups is not None
    groups = np.asarray([str(g) for g in groups]) if grouped else None
    if grouped and len(groups) != n:
        raise CandleInputError(f"{len(groups)} groups for {n} samples")
    if fixed_test is None:
        if not 0 < test_fraction < 1 or not 0 < val_fraction < 1 or test_fraction + val_fraction >= 1:
            raise CandleInputError(
                f"test_fraction={test_fraction} and val_fraction={val_fraction} must be in (0, 1) with a sum below 1"
            )
        _check_class_sizes(labels, groups, None)
        test = _one_fold(labels, groups, max(2, round(1 / test_fraction)), seed, "data.splits.test_fraction")
        test_share = test_fraction
    else:
        test = _fixed_test_mask(fixed_test, n, groups, sample_ids)
        _check_class_sizes(labels, groups, test)
        test_share = test.mean()
        if not 0 < val_fraction < 1 - test_share:
            raise CandleInputError(
                f"val_fraction={val_fraction} must be in (0, 1 - {test_share:.3g}) (the share of the fixed test rows)"
            )
    rest = np.flatnonzero(~test)
    val_share = val_fraction / (1 - test_share)
    rest_groups = groups[rest] if grouped else None
    val_in_rest = _one_fold(
        labels[rest],
        rest_groups,
        max(2, round(1 / val_share)),
        seed + 1,
        "data.splits.val_fraction",
        "the non-test rows",
    )
    split = np.full(n, "train", dtype=object)
    split[test] = "test"
    split[rest[val_in_rest]] = "val"
    fold = np.full(n, -1, dtype=np.int64)
    fold[rest] = _partition(
        labels[rest], rest_groups, n_folds, seed + 2, what="folds", key="data.splits.n_folds", rows="the train+val rows"
    )
    return pd.DataFrame({"sample_id": list(map(str, sample_ids)), "split": split.astype(str), "fold": fold})


def _fixed_test_mask(fixed_test, n: int, groups, sample_ids) -> np.ndarray:
    mask = np.asarray(fixed_test)
    if mask.dtype != bool or mask.shape != (n,):
        raise CandleInputError(
            f"fixed_test must be a boolean mask of {n} entries; got dtype {mask.dtype}, shape {mask.shape}"
        )
    if not mask.any() or mask.all():
        raise CandleInputError(
            f"fixed_test marks {int(mask.sum())} of {n} samples as test; it must mark some but not all"
        )
    if groups is not None:
        test_groups = set(groups[mask])
        straddling = sorted(str(g) for g in test_groups & set(groups[~mask]))
        if straddling:
            row = int(np.flatnonzero((groups == straddling[0]) & ~mask)[0])
            raise CandleInputError(
                f"group {straddling[0]!r} has samples in the fixed test part and outside it (e.g. sample "
                f"{str(list(sample_ids)[row])!r}); {len(straddling)} group(s) straddle the fixed test part"
            )
    return mask


# --- more columns of the split table -----------------------------------------------------------


def _pool_mask(table: pd.DataFrame, pool) -> np.ndarray:
    """Rows eligible for resampling: ``"all"``; a split name such as ``"train"`` (rows whose
    ``split`` column has that value); a list of split names; or a boolean mask."""
    n = len(table)
    if isinstance(pool, str) and pool == "all":
        mask = np.ones(n, dtype=bool)
    elif isinstance(pool, str) or (isinstance(pool, (list, tuple)) and pool and all(isinstance(p, str) for p in pool)):
        names = [pool] if isinstance(pool, str) else list(pool)
        if "split" not in table.columns:
            raise CandleInputError(f"pool {names} names splits but the split table has no 'split' column")
        mask = table["split"].isin(names).to_numpy()
    else:
        mask = np.asarray(pool)
        if mask.dtype != bool or mask.shape != (n,):
            raise CandleInputError(f"pool must be 'all', split name(s) or a boolean mask of {n} rows")
    if not mask.any():
        raise CandleInputError(f"the pool {pool!r} holds no row of the split table")
    return mask


def _column_values(table: pd.DataFrame, values, what: str) -> np.ndarray:
    """A column name of ``table`` or an array aligned with its rows, as strings."""
    if isinstance(values, str):
        if values not in table.columns:
            raise CandleInputError(
                f"{what} column {values!r} is not in the split table (columns: {list(table.columns)})"
            )
        values = table[values]
    arr = np.asarray(values, dtype=object)
    if arr.shape != (len(table),):
        raise CandleInputError(
            f"{what} must have one entry per row of the split table ({len(table)}); got shape {arr.shape}"
        )
    return arr


def _subsample_size(fraction: float, pool_size: int) -> int:
    """floor(fraction * pool_size + 1/2): round half up (a 1e-9 slack absorbs float error such
    as 0.3 * 5 = 1.4999999999999998)."""
    return int(math.floor(fraction * pool_size + 0.5 + 1e-9))


def _stratified_order(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An order of the positions 0..len(strata)-1 in which every prefix is as stratified as
    possible: in the first t positions class c (n_c of N members) appears a_c times with
    |a_c - t n_c / N| <= 1 - 1/(2C - 2) < 1 for C >= 2 classes, i.e. a_c is floor or ceil of
    the class's proportional share, for EVERY prefix length t at once.

    Tijdeman's chairman-assignment algorithm (1980) with sigma = 1/(2C - 2): at step t, among the
    classes with t n_c / N - a_c >= sigma, take the one whose next deadline (a_c + 1 - sigma) N /
    n_c is earliest (ties by a random class priority). Exact integer/rational arithmetic. Within a
    class, members come in a random order.
    """
    classes, inverse = np.unique(strata, return_inverse=True)
    members = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    counts = [len(m) for m in members]
    n_total, n_classes = len(strata), len(classes)
    if n_classes == 1:
        return members[0]
    priority = rng.permutation(n_classes)
    s2 = 2 * n_classes - 2  # sigma = 1 / s2
    taken = [0] * n_classes
    order = np.empty(n_total, dtype=np.int64)
    for t in range(1, n_total + 1):
        best, best_key = -1, None
        for c in range(n_classes):
            if taken[c] < counts[c] and (counts[c] * t - taken[c] * n_total) * s2 >= n_total:
                key = (Fraction((taken[c] + 1) * s2 - 1, counts[c]), priority[c])
                if best_key is None or key < best_key:
                    best, best_key = c, key
        if best < 0:  # cannot happen (Tijdeman's theorem); kept as a guard
            best = min((c for c in range(n_classes) if taken[c] < counts[c]), key=lambda c: priority[c])
        order[t - 1] = members[best][taken[best]]
        taken[best] += 1
    return order


def _fraction_label(fraction: float) -> str:
    return f"{fraction:g}"


def fractional_subsamples(
    table: pd.DataFrame, fractions, repeats: int, seed: int, pool="train", labels=None
) -> pd.DataFrame:
    """Add boolean columns ``subsample_f{fraction}_r{repeat}`` (e.g. ``subsample_f0.25_r0``):
    random subsets of the pool rows, for learning curves (train on 25 %, 50 %, ... of the
    training rows).

    - Size: k = floor(fraction * P + 1/2) rows (round half up) of the P pool rows;
      fractions must be in (0, 1] and give k >= 1.
    - Nested: for each repeat one random order of the pool is drawn and every fraction takes its
      first k rows, so a smaller fraction's rows are inside a larger fraction's of the same repeat.
    - Stratified when ``labels`` (a column name or one value per row) is given: the order is
      stratified prefix by prefix (see :func:`_stratified_order`), so each class c of P_c pool
      rows has floor or ceil of k P_c / P rows in every subsample.
    - Seeded: repeat r draws from ``numpy.random.default_rng([seed, r])``, so it does not depend
      on the fractions asked for or on the number of repeats; different repeats differ.
    - Rows outside the pool are False.
    """
    mask = _pool_mask(table, pool)
    pool_rows = np.flatnonzero(mask)
    fractions = [float(f) for f in fractions]
    sizes = {}
    for f in fractions:
        k = _subsample_size(f, pool_rows.size)
        if not 0 < f <= 1 or k < 1:
            raise CandleInputError(
                f"subsample fraction {f} must be in (0, 1] and select at least one of {pool_rows.size} pool rows"
            )
        sizes[f] = k
    if int(repeats) != repeats or repeats < 1:
        raise CandleInputError(f"repeats must be a positive integer; got {repeats!r}")
    strata = None if labels is None else _column_values(table, labels, "labels")[pool_rows].astype(str)
    out = table.copy()
    for r in range(int(repeats)):
        rng = np.random.default_rng([int(seed), r])
        order = rng.permutation(pool_rows.size) if strata is None else _stratified_order(strata, rng)
        for f in fractions:
            column = np.zeros(len(table), dtype=bool)
            column[pool_rows[order[: sizes[f]]]] = True
            out[f"subsample_f{_fraction_label(f)}_r{r}"] = column
    return out


def bootstrap_resamples(table: pd.DataFrame, n: int, seed: int, pool="train", labels=None) -> pd.DataFrame:
    """Add integer columns ``bootstrap_0`` .. ``bootstrap_{n-1}``: how many times each row is
    drawn when P rows are drawn with replacement, uniformly, from the P pool rows (the classic
    bootstrap; each column sums to P). 0 means out-of-bag, and rows outside the pool are always 0.
    With ``labels`` the draw is stratified: P_c draws from the P_c pool rows of each class.
    Resample b draws from ``numpy.random.default_rng([seed, b])``.
    """
    mask = _pool_mask(table, pool)
    pool_rows = np.flatnonzero(mask)
    if int(n) != n or n < 1:
        raise CandleInputError(f"the number of bootstrap resamples must be a positive integer; got {n!r}")
    strata = None if labels is None else _column_values(table, labels, "labels")[pool_rows].astype(str)
    out = table.copy()
    for b in range(int(n)):
        rng = np.random.default_rng([int(seed), b])
        if strata is None:
            drawn = pool_rows[rng.integers(0, pool_rows.size, pool_rows.size)]
        else:
            drawn = np.concatenate(
                [
                    rng.choice(pool_rows[strata == c], size=int((strata == c).sum()), replace=True)
                    for c in np.unique(strata)
                ]
            )
        out[f"bootstrap_{b}"] = np.bincount(drawn, minlength=len(table)).astype(np.int64)
    return out


def leave_one_group_out(table: pd.DataFrame, groups) -> pd.DataFrame:
    """Add the column ``logo_group``: the group (e.g. cancer type, study, batch, patient) of each
    row, as a string, for leave-one-group-out validation (see :func:`logo_parts`). ``groups`` is a
    column name of ``table`` or one value per row; a missing group (None/NaN/empty) is an error
    naming the row."""
    values = _column_values(table, groups, "groups")
    for i, g in enumerate(values):
        if g is None or (np.ndim(g) == 0 and pd.isna(g)) or str(g).strip() == "":
            sample = f"sample {str(table['sample_id'].iloc[i])!r} " if "sample_id" in table.columns else ""
            raise CandleInputError(f"{sample}(data row {i + 1}) has no group")
    out = table.copy()
    out["logo_group"] = [str(g) for g in values]
    return out


def logo_parts(table: pd.DataFrame, pool="all") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """One (group, train_mask, test_mask) per group of the ``logo_group`` column, groups sorted:
    test is the pool rows of that group, train the pool rows of every other group (scikit-learn's
    LeaveOneGroupOut over the pool rows). Masks have one entry per table row; rows outside the
    pool (``pool``, as in :func:`fractional_subsamples`; default all rows) are in neither."""
    if "logo_group" not in table.columns:
        raise CandleInputError("the split table has no 'logo_group' column; add it with leave_one_group_out")
    mask = _pool_mask(table, pool)
    rows = np.flatnonzero(mask)
    groups = table["logo_group"].astype(str).to_numpy()[rows]
    if len(set(groups)) < 2:
        raise CandleInputError(f"leave-one-group-out needs at least 2 groups; the pool has {len(set(groups))}")
    parts = []
    for train_idx, test_idx in LeaveOneGroupOut().split(np.zeros(rows.size), groups=groups):
        train_mask = np.zeros(len(table), dtype=bool)
        test_mask = np.zeros(len(table), dtype=bool)
        train_mask[rows[train_idx]] = True
        test_mask[rows[test_idx]] = True
        parts.append((str(groups[test_idx[0]]), train_mask, test_mask))
    return parts
