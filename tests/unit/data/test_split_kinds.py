"""Split kinds beyond grouped train/val/test/folds: plain stratified splits without groups, a
fixed test part, fractional subsamples, bootstrap resamples and leave-one-group-out. All live as
columns of one split table."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from candle_lib.data.split_methods import (
    assign_splits,
    bootstrap_resamples,
    fractional_subsamples,
    leave_one_group_out,
    logo_parts,
)
from candle_lib.errors import CandleInputError

# 60 samples without groups: classes a (30), b (18), c (12)
IDS = [f"s{i:02d}" for i in range(60)]
LABELS = ["a"] * 30 + ["b"] * 18 + ["c"] * 12


def split_table(seed=0, **kw):
    t = assign_splits(IDS, LABELS, None, seed=seed, **kw)
    t["label"] = LABELS
    return t


# --- plain stratified splits when there are no groups ------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_without_groups_test_part_is_stratified_kfold_first_fold(seed):
    # test_fraction 0.2 -> StratifiedKFold(5, shuffle=True, random_state=seed), first held fold
    t = split_table(seed, test_fraction=0.2, val_fraction=0.2, n_folds=3)
    _, held = next(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(60), LABELS))
    assert sorted(np.flatnonzero((t["split"] == "test").to_numpy())) == sorted(held)
    # exactly a fifth of every class: a 6, b 3.6 -> 3 or 4, c 2.4 -> 2 or 3; 12 rows in all
    counts = Counter(t.loc[t["split"] == "test", "label"])
    assert counts["a"] == 6 and counts["b"] in (3, 4) and counts["c"] in (2, 3)
    assert sum(counts.values()) == 12


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_without_groups_folds_are_stratified_kfold(seed):
    k = 4
    t = split_table(seed, n_folds=k)
    rest = np.flatnonzero((t["split"] != "test").to_numpy())
    rest_labels = np.array(LABELS)[rest]
    reference = np.full(len(rest), -1)
    for fold, (_, held) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed + 2).split(rest, rest_labels)):
        reference[held] = fold
    np.testing.assert_array_equal(t["fold"].to_numpy()[rest], reference)
    # StratifiedKFold's promise: per class, fold sizes differ by at most one
    for label in "abc":
        sizes = Counter(t.loc[(t["split"] != "test") & (t["label"] == label), "fold"])
        assert max(sizes.values()) - min(sizes.values()) <= 1, (label, sizes)
        assert set(sizes) == set(range(k))


def test_without_groups_val_part_from_the_rest():
    t = split_table(0, test_fraction=0.2, val_fraction=0.2)
    # val share of the rest 0.2 / 0.8 -> 4 parts of the 48 non-test rows -> 12 rows
    assert (t["split"] == "val").sum() == 12
    counts = Counter(t.loc[t["split"] == "val", "label"])
    # the rest holds a 24, b 14 or 15, c 9 or 10 -> a quarter: a 6, b 3-4, c 2-3
    assert counts["a"] == 6 and counts["b"] in (3, 4) and counts["c"] in (2, 3)


def test_without_groups_too_few_samples():
    with pytest.raises(CandleInputError) as error:
        assign_splits(["x", "y", "z"], ["a", "a", "a"], None)
    assert str(error.value) == (
        "config key 'data.splits.test_fraction': the test part is one of 5 parts, which need at least 5 samples, "
        "but the rows hold only 3; raise it, or give more samples"
    )


# --- fixed test part ---------------------------------------------------------------------------

FIXED = np.zeros(60, dtype=bool)
FIXED[[0, 5, 31, 32, 50, 59, 10, 40, 44, 20]] = True


@pytest.mark.parametrize("seed", [0, 3])
def test_fixed_test_rows_are_exactly_the_test_part(seed):
    t = split_table(seed, fixed_test=FIXED, val_fraction=0.2, n_folds=5)
    np.testing.assert_array_equal((t["split"] == "test").to_numpy(), FIXED)
    assert (t.loc[FIXED, "fold"] == -1).all()
    rest = t[~FIXED]
    assert set(rest["split"]) == {"train", "val"}
    assert set(rest["fold"]) == set(range(5))
    # val: val_fraction 0.2 of all 60 = 12 of the 50 others -> round(50 / 12) = 4 parts -> 12 or 13
    assert (rest["split"] == "val").sum() in (12, 13)


def test_fixed_test_ignores_test_fraction_and_is_deterministic():
    a = split_table(4, fixed_test=FIXED, test_fraction=0.5)
    b = split_table(4, fixed_test=FIXED, test_fraction=0.1)
    pd.testing.assert_frame_equal(a, b)


def test_fixed_test_with_groups():
    ids = [f"p{i // 2}-{i % 2}" for i in range(40)]
    groups = [f"p{i // 2}" for i in range(40)]
    labels = ["n", "t"] * 20
    fixed = np.array([g in ("p0", "p7", "p12") for g in groups])
    t = assign_splits(ids, labels, groups, fixed_test=fixed, n_folds=3, seed=1)
    np.testing.assert_array_equal((t["split"] == "test").to_numpy(), fixed)
    t["group"] = groups
    assert (t.groupby("group")["split"].nunique() == 1).all()
    # a patient with one sample in the given test file and one outside is an error
    straddle = fixed.copy()
    straddle[2] = True  # p1-0 in test, p1-1 not
    with pytest.raises(
        CandleInputError, match=r"group 'p1' has samples in the fixed test part and outside it \(e\.g\. sample 'p1-1'\)"
    ):
        assign_splits(ids, labels, groups, fixed_test=straddle)


def test_fixed_test_bad_masks():
    with pytest.raises(CandleInputError, match="boolean mask of 60 entries"):
        split_table(fixed_test=np.zeros(59, dtype=bool))
    with pytest.raises(CandleInputError, match="boolean mask"):
        split_table(fixed_test=np.zeros(60, dtype=int))
    with pytest.raises(CandleInputError, match="marks 0 of 60"):
        split_table(fixed_test=np.zeros(60, dtype=bool))
    with pytest.raises(CandleInputError, match=r"val_fraction=0\.9 must be in \(0, 1 - 0\.167\)"):
        split_table(fixed_test=FIXED, val_fraction=0.9)


# --- fractional subsamples ---------------------------------------------------------------------


def base_table():
    """50 train rows (a 25, b 15, c 10), 10 val rows, 10 test rows."""
    labels = ["a"] * 25 + ["b"] * 15 + ["c"] * 10 + ["a", "b"] * 10
    split = ["train"] * 50 + ["val"] * 10 + ["test"] * 10
    return pd.DataFrame({"sample_id": [f"r{i}" for i in range(70)], "split": split, "fold": 0, "label": labels})


def test_subsample_sizes_and_names():
    t = base_table()
    # k = floor(f * 50 + 1/2): 0.1 -> 5, 0.25 -> 12.5 -> 13, 0.33 -> 16.5 -> 17, 0.5 -> 25, 1 -> 50
    out = fractional_subsamples(t, [0.1, 0.25, 0.33, 0.5, 1.0], repeats=2, seed=0)
    expected = {0.1: 5, 0.25: 13, 0.33: 17, 0.5: 25, 1.0: 50}
    for r in range(2):
        for f, k in expected.items():
            column = f"subsample_f{f:g}_r{r}"
            assert out[column].dtype == bool
            assert out[column].sum() == k, column
            assert not out.loc[t["split"] != "train", column].any()  # outside the pool: False
    assert "subsample_f0.25_r0" in out.columns and "subsample_f1_r1" in out.columns
    # round half up on an odd pool: 0.5 of 7 rows -> 3.5 -> 4; float 0.3 * 5 = 1.4999... -> 2
    small = pd.DataFrame({"sample_id": list("abcdefg"), "split": ["train"] * 7})
    assert fractional_subsamples(small, [0.5], 1, 0)["subsample_f0.5_r0"].sum() == 4
    assert fractional_subsamples(small.iloc[:5], [0.3], 1, 0)["subsample_f0.3_r0"].sum() == 2


def test_subsamples_nested_reproducible_and_different_across_repeats():
    t = base_table()
    fractions = [0.2, 0.5, 0.8]
    out = fractional_subsamples(t, fractions, repeats=3, seed=7)
    for r in range(3):
        small, mid, large = (out[f"subsample_f{f:g}_r{r}"].to_numpy() for f in fractions)
        assert not (small & ~mid).any() and not (mid & ~large).any()
    pd.testing.assert_frame_equal(out, fractional_subsamples(t, fractions, repeats=3, seed=7))
    assert not out["subsample_f0.5_r0"].equals(out["subsample_f0.5_r1"])
    assert not out["subsample_f0.5_r1"].equals(out["subsample_f0.5_r2"])
    other_seed = fractional_subsamples(t, fractions, repeats=1, seed=8)
    assert not out["subsample_f0.5_r0"].equals(other_seed["subsample_f0.5_r0"])
    # a repeat does not depend on the other fractions or the number of repeats asked for
    alone = fractional_subsamples(t, [0.5], repeats=1, seed=7)
    assert alone["subsample_f0.5_r0"].equals(out["subsample_f0.5_r0"])


def test_subsamples_do_not_mutate_the_table():
    t = base_table()
    before = t.copy()
    out = fractional_subsamples(t, [0.5], 1, 0)
    pd.testing.assert_frame_equal(t, before)
    assert out is not t
    pd.testing.assert_frame_equal(out[list(t.columns)], before)


@pytest.mark.parametrize("seed", range(6))
def test_subsamples_stratified_within_one_per_class(seed):
    t = base_table()
    fractions = [0.1, 0.2, 0.25, 0.3, 0.45, 0.5, 0.66, 0.75, 0.9]
    out = fractional_subsamples(t, fractions, repeats=2, seed=seed, labels="label")
    train = t["split"] == "train"
    class_sizes = t.loc[train, "label"].value_counts()
    for r in range(2):
        for f in fractions:
            chosen = out[f"subsample_f{f:g}_r{r}"]
            k = chosen.sum()
            assert k == math.floor(f * 50 + 0.5)
            counts = t.loc[chosen, "label"].value_counts()
            for label, n_c in class_sizes.items():
                share = k * n_c / 50  # the class's proportional share of this subsample
                assert abs(counts.get(label, 0) - share) < 1, (f, r, label, counts.get(label, 0), share)


def test_subsamples_stratified_with_many_uneven_classes():
    # 7 classes of 1..40 rows; every prefix size checked through fractions 1/97 .. 97/97
    sizes = [40, 1, 13, 7, 3, 25, 8]
    labels = [f"c{i}" for i, n in enumerate(sizes) for _ in range(n)]
    t = pd.DataFrame({"sample_id": [f"x{i}" for i in range(97)], "split": "train", "label": labels})
    fractions = [i / 97 for i in range(1, 98)]
    out = fractional_subsamples(t, fractions, 1, seed=3, labels=t["label"].to_numpy(), pool="all")
    previous = np.zeros(97, dtype=bool)
    for i, f in enumerate(fractions, start=1):
        chosen = out[f"subsample_f{f:g}_r0"].to_numpy()
        assert chosen.sum() == i and not (previous & ~chosen).any()
        previous = chosen
        counts = Counter(np.array(labels)[chosen])
        for c, n_c in enumerate(sizes):
            assert abs(counts[f"c{c}"] - i * n_c / 97) < 1


def test_subsample_pools_and_errors():
    t = base_table()
    out = fractional_subsamples(t, [0.5], 1, 0, pool=["train", "val"])
    assert out["subsample_f0.5_r0"].sum() == 30
    assert not out.loc[t["split"] == "test", "subsample_f0.5_r0"].any()
    mask = np.zeros(70, dtype=bool)
    mask[:4] = True
    assert fractional_subsamples(t, [0.5], 1, 0, pool=mask)["subsample_f0.5_r0"].to_numpy().nonzero()[0].max() < 4
    with pytest.raises(CandleInputError, match="must be in \\(0, 1\\]"):
        fractional_subsamples(t, [1.5], 1, 0)
    with pytest.raises(CandleInputError, match="select at least one"):
        fractional_subsamples(t, [0.001], 1, 0)
    with pytest.raises(CandleInputError, match="pool 'holdout' holds no row"):
        fractional_subsamples(t, [0.5], 1, 0, pool="holdout")
    with pytest.raises(CandleInputError, match="labels column 'tissue' is not in the split table"):
        fractional_subsamples(t, [0.5], 1, 0, labels="tissue")


# --- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_counts():
    t = base_table()
    out = bootstrap_resamples(t, 20, seed=1)
    columns = [f"bootstrap_{b}" for b in range(20)]
    assert [c for c in out.columns if c.startswith("bootstrap_")] == columns
    train = (t["split"] == "train").to_numpy()
    for c in columns:
        counts = out[c].to_numpy()
        assert counts.dtype == np.int64
        assert counts[train].sum() == 50
        assert (counts >= 0).all() and (counts[~train] == 0).all()
    # some rows out of bag: expected share (1 - 1/50)**50 ~ 0.364; averaged over 20 resamples of
    # 50 rows the standard error is ~0.015, so [0.25, 0.48] is > 7 standard errors wide
    oob = np.mean([(out.loc[train, c] == 0).mean() for c in columns])
    assert 0.25 < oob < 0.48
    assert len({tuple(out[c]) for c in columns}) == 20  # resamples differ
    pd.testing.assert_frame_equal(out, bootstrap_resamples(t, 20, seed=1))
    # resample b does not depend on how many were asked for
    pd.testing.assert_frame_equal(bootstrap_resamples(t, 3, seed=1), out.drop(columns=columns[3:]))
    assert "bootstrap_0" not in t.columns  # input untouched


def test_bootstrap_stratified_and_pool_all():
    t = base_table()
    out = bootstrap_resamples(t, 5, seed=2, labels="label")
    train = t["split"] == "train"
    for b in range(5):
        drawn = out.loc[train].groupby("label")[f"bootstrap_{b}"].sum()
        assert drawn.to_dict() == {"a": 25, "b": 15, "c": 10}
    everything = bootstrap_resamples(t, 2, seed=2, pool="all")
    assert everything["bootstrap_0"].sum() == 70


# --- leave one group out -----------------------------------------------------------------------


def logo_table():
    sites = ["lung", "breast", "colon", "lung", "skin", "breast", "colon", "lung", "skin", "skin"]
    split = ["train"] * 8 + ["test"] * 2
    return pd.DataFrame({"sample_id": [f"q{i}" for i in range(10)], "split": split, "site": sites})


def test_leave_one_group_out_column_and_parts():
    t = logo_table()
    out = leave_one_group_out(t, "site")
    assert out["logo_group"].tolist() == t["site"].tolist()
    assert "logo_group" not in t.columns
    parts = logo_parts(out)
    assert [g for g, _, _ in parts] == ["breast", "colon", "lung", "skin"]
    tested = np.zeros(10, dtype=int)
    sites = t["site"].to_numpy()
    for group, train, test in parts:
        np.testing.assert_array_equal(test, sites == group)  # the whole group is the test part
        assert not (train & (sites == group)).any()  # never in its own train part
        np.testing.assert_array_equal(train | test, np.ones(10, dtype=bool))
        assert not (train & test).any()
        tested += test
    np.testing.assert_array_equal(tested, 1)  # every row (every group) is test exactly once


def test_logo_parts_within_a_pool():
    out = leave_one_group_out(logo_table(), logo_table()["site"].to_numpy())
    parts = logo_parts(out, pool="train")
    in_pool = (out["split"] == "train").to_numpy()
    assert [g for g, _, _ in parts] == ["breast", "colon", "lung", "skin"]
    for group, train, test in parts:
        assert not ((train | test) & ~in_pool).any()
        np.testing.assert_array_equal(test, in_pool & (out["site"] == group).to_numpy())
    # skin has one train row (4); rows 8 and 9 are test rows, outside the pool
    skin = dict((g, te) for g, _, te in parts)["skin"]
    assert np.flatnonzero(skin).tolist() == [4]


def test_logo_errors():
    t = logo_table()
    t.loc[3, "site"] = None
    with pytest.raises(CandleInputError, match=r"sample 'q3' \(data row 4\) has no group"):
        leave_one_group_out(t, "site")
    with pytest.raises(CandleInputError, match="no 'logo_group' column"):
        logo_parts(logo_table())
    one = leave_one_group_out(logo_table(), ["x"] * 10)
    with pytest.raises(CandleInputError, match="at least 2 groups"):
        logo_parts(one)
