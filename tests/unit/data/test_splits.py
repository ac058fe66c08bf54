"""Split assignment: grouped (a patient never straddles parts), stratified, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.split_methods import assign_splits
from candle_lib.errors import CandleInputError

N_PAIRED = 60  # patients with a matched normal + tumor
N_UNPAIRED = 60  # patients with a tumor only


def cohort():
    ids, labels, groups = [], [], []
    for p in range(N_PAIRED):
        ids += [f"P{p:03d}-N", f"P{p:03d}-T"]
        labels += ["normal", "tumor"]
        groups += [f"P{p:03d}"] * 2
    for p in range(N_PAIRED, N_PAIRED + N_UNPAIRED):
        ids.append(f"P{p:03d}-T")
        labels.append("tumor")
        groups.append(f"P{p:03d}")
    return ids, labels, groups


def table(seed=0, n_folds=5, **kw):
    ids, labels, groups = cohort()
    out = assign_splits(ids, labels, groups, n_folds=n_folds, seed=seed, **kw)
    out["label"] = labels
    out["group"] = groups
    return out


SEEDS = (0, 1, 7, 42)


@pytest.mark.parametrize("seed", SEEDS)
def test_shape_and_columns(seed):
    ids, _, _ = cohort()
    t = table(seed)
    assert list(t.columns[:3]) == ["sample_id", "split", "fold"]
    assert t["sample_id"].tolist() == ids  # input order kept
    assert set(t["split"]) == {"train", "val", "test"}


@pytest.mark.parametrize("seed", SEEDS)
def test_no_group_in_two_parts_or_two_folds(seed):
    t = table(seed)
    assert (t.groupby("group")["split"].nunique() == 1).all()
    non_test = t[t["split"] != "test"]
    assert (non_test.groupby("group")["fold"].nunique() == 1).all()
    # the pairs really were split as units: both samples of a pair share split and fold
    paired = t[t["group"].isin([f"P{p:03d}" for p in range(N_PAIRED)])]
    assert (paired.groupby("group").size() == 2).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_folds(seed):
    k = 5
    t = table(seed, n_folds=k)
    assert (t.loc[t["split"] == "test", "fold"] == -1).all()
    non_test = t[t["split"] != "test"]
    assert non_test["fold"].between(0, k - 1).all()
    assert set(non_test["fold"]) == set(range(k))  # every fold used
    assert t["fold"].dtype.kind == "i"


@pytest.mark.parametrize("seed", SEEDS)
def test_part_sizes_and_class_proportions(seed):
    # 180 samples: 120 tumor, 60 normal; tumor share 2/3 overall.
    t = table(seed)
    n = len(t)
    assert n == 180
    # test and val ~ 20 % each (one fifth of 120 groups; groups hold 1 or 2 samples)
    for part in ("test", "val"):
        assert abs((t["split"] == part).sum() / n - 0.2) < 0.05
    # Tolerance 0.05 on the tumor share of each part and each fold. Justification: the smallest
    # part here has ~28 samples; moving one unpaired tumor between parts changes a part's tumor
    # share by at most 1/28 ~ 0.036, and a pair (1 normal + 1 tumor) by less, so a stratified
    # grouped split lands within about one group of the target. An unstratified random split of
    # ~36 samples has a per-part standard deviation of sqrt((2/3)(1/3)/36) ~ 0.079 and would
    # very likely exceed 0.05 in some of the 3 parts + 5 folds over the 4 seeds.
    overall = 2 / 3
    parts = [sub for _, sub in t.groupby("split")] + [sub for _, sub in t[t["split"] != "test"].groupby("fold")]
    for sub in parts:
        share = (sub["label"] == "tumor").mean()
        assert abs(share - overall) < 0.05, (sub["split"].iloc[0], sub["fold"].iloc[0], share)


def test_same_seed_same_table_other_seed_differs():
    a, b, c = table(3), table(3), table(4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])
    assert not a["fold"].equals(c["fold"])


def test_without_groups_each_sample_is_its_own_group():
    ids = [f"s{i}" for i in range(50)]
    labels = ["a"] * 25 + ["b"] * 25
    t = assign_splits(ids, labels, None, test_fraction=0.2, val_fraction=0.2, n_folds=4, seed=0)
    assert (t["split"] == "test").sum() == 10
    assert (t["split"] == "val").sum() == 10
    # exactly stratified: 5 of each class in test
    test_labels = np.array(labels)[(t["split"] == "test").to_numpy()]
    assert (test_labels == "a").sum() == 5


@pytest.mark.parametrize(
    "test_fraction,val_fraction",
    [(0.0, 0.2), (1.0, 0.2), (0.2, 0.0), (0.2, 1.0), (-0.1, 0.2), (0.5, 0.5), (0.6, 0.5)],
)
def test_bad_fractions(test_fraction, val_fraction):
    ids, labels, groups = cohort()
    with pytest.raises(CandleInputError, match="must be in \\(0, 1\\)"):
        assign_splits(ids, labels, groups, test_fraction=test_fraction, val_fraction=val_fraction)


def test_too_few_groups():
    ids = ["a1", "a2", "b1", "b2", "c1", "c2"]
    with pytest.raises(CandleInputError, match="test_fraction': the test part is one of 5 grouped parts.*only 3"):
        assign_splits(ids, ["x"] * 6, ["A", "A", "B", "B", "C", "C"], test_fraction=0.2, val_fraction=0.2)
