"""UQ statistics against hand calculations (and scikit-learn where it has the same score), the
member plan of a uq config, and the stacking of members' predictions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_config
from sklearn.metrics import brier_score_loss, log_loss

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec
from candle_lib.uq import classification as cls
from candle_lib.uq import regression as reg
from candle_lib.uq.ensembles import uq_plan
from candle_lib.uq.members import stack_classification, stack_regression
from candle_lib.uq.recalibration import gaussian_scale, quantile_margin

# two members, two rows, two classes; averaged: [[0.75, 0.25], [0.35, 0.65]]
P = np.array([[[0.9, 0.1], [0.3, 0.7]], [[0.6, 0.4], [0.4, 0.6]]])
Y = np.array([0, 0])  # row 0 right (confidence 0.75), row 1 wrong (confidence 0.65)


def h(*p):
    return -sum(x * math.log(x) for x in p if x > 0)


def test_entropy_and_mutual_information_by_hand():
    np.testing.assert_allclose(cls.entropy(P.mean(axis=0)), [h(0.75, 0.25), h(0.35, 0.65)], rtol=1e-12)
    expected = [h(0.75, 0.25) - (h(0.9, 0.1) + h(0.6, 0.4)) / 2, h(0.35, 0.65) - (h(0.3, 0.7) + h(0.4, 0.6)) / 2]
    np.testing.assert_allclose(cls.mutual_information(P), expected, rtol=1e-12)
    assert cls.mutual_information(np.stack([P[0], P[0]])) == pytest.approx([0, 0], abs=1e-15)  # agreeing members
    assert cls.entropy(np.array([1.0, 0.0])) == 0.0


def test_brier_nll_ece_and_risk_coverage_by_hand():
    mean_p = P.mean(axis=0)
    assert cls.brier_score(mean_p, Y) == pytest.approx(((0.25**2 + 0.25**2) + (0.65**2 + 0.65**2)) / 2, rel=1e-12)
    assert cls.brier_score(mean_p, Y) == pytest.approx(
        2 * brier_score_loss(Y, mean_p[:, 1]), rel=1e-12
    )  # binary: half the sum
    assert cls.negative_log_likelihood(mean_p, Y) == pytest.approx(-(math.log(0.75) + math.log(0.35)) / 2, rel=1e-12)
    assert cls.negative_log_likelihood(mean_p, Y) == pytest.approx(log_loss(Y, mean_p, labels=[0, 1]), rel=1e-9)
    bins = cls.reliability_bins(mean_p, Y, 10)
    assert bins.count.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0]  # 0.65 in (0.6, 0.7], 0.75 in (0.7, 0.8]
    assert bins.ece == pytest.approx(0.5 * abs(0 - 0.65) + 0.5 * abs(1 - 0.75), rel=1e-12)
    coverage, risk = cls.risk_coverage(mean_p, Y)
    assert coverage.tolist() == [0.5, 1.0] and risk.tolist() == [0.0, 0.5]
    summary = cls.classification_summary(P, Y, bins=10)
    assert summary["aurc"] == pytest.approx(0.25) and summary["accuracy"] == 0.5 and summary["n"] == 2


def test_a_confidence_on_a_bin_edge_joins_the_lower_bin():
    bins = cls.reliability_bins(np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([0, 0]), 2)
    assert bins.count.tolist() == [1, 1]


def test_risk_coverage_keeps_the_most_confident_rows_first():
    mean_p = np.array([[0.6, 0.4], [0.95, 0.05], [0.2, 0.8], [0.55, 0.45]])
    y = np.array([1, 0, 1, 0])  # right: rows 1 (0.95), 2 (0.8), 3 (0.55); wrong: row 0 (0.6)
    coverage, risk = cls.risk_coverage(mean_p, y)
    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0, 0, 1 / 3, 1 / 4])


MU = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
VAR = np.array([[1.0, 0.5], [1.0, 0.5], [4.0, 0.5]])


def test_variance_decomposition_by_hand():
    dec = reg.decompose(MU, VAR)
    np.testing.assert_allclose(dec.mean, [3.0, 2.0])
    np.testing.assert_allclose(dec.epistemic, [(4 + 0 + 4) / 3, 0.0])  # population variance, ddof 0
    np.testing.assert_allclose(dec.aleatoric, [2.0, 0.5])
    np.testing.assert_allclose(dec.total, [2 + 8 / 3, 0.5])
    np.testing.assert_allclose(reg.decompose(MU).aleatoric, [0.0, 0.0])  # members without a variance head


def test_gaussian_intervals_coverage_and_width_by_hand():
    dec = reg.decompose(MU, VAR)
    z = 1.6448536269514722  # Φ⁻¹(0.95), from tables
    lo, hi = reg.gaussian_interval(dec.mean, dec.total, 0.9)
    np.testing.assert_allclose(hi - dec.mean, z * np.sqrt([14 / 3, 0.5]), rtol=1e-12)
    y = np.array([5.0, 3.5])  # |y - μ| = 2 < z √(14/3) = 3.55: inside; 1.5 > z √0.5 = 1.16: outside
    assert reg.picp(y, lo, hi) == 0.5
    assert reg.mean_width(lo, hi) == pytest.approx(z * (math.sqrt(14 / 3) + math.sqrt(0.5)), rel=1e-12)
    assert reg.gaussian_nll(np.array([1.0]), np.array([0.0]), np.array([4.0])) == pytest.approx(
        0.5 * (math.log(2 * math.pi * 4) + 0.25)
    )


def test_quantile_levels_pair_symmetric_quantiles():
    assert reg.quantile_levels([0.05, 0.1, 0.5, 0.9, 0.95]) == {0.8: (0.1, 0.9), 0.9: (0.05, 0.95)}
    assert reg.quantile_levels([0.1, 0.5, 0.8]) == {}


def test_recalibration_scale_and_margin_by_hand():
    r = np.array([0.5, 1.0, 2.0, 4.0])  # y with μ = 0, σ = 1: |y - μ| / σ = r
    # numpy's 'higher' 0.5-quantile of 4 values: position 1.5 -> the value at 2: 2.0
    scale = gaussian_scale(r, np.zeros(4), np.ones(4), 0.5)
    assert scale == pytest.approx(2.0 / 0.6744897501960817, rel=1e-12)
    lo, hi = reg.gaussian_interval(np.zeros(4), np.ones(4), 0.5, scale)
    assert reg.picp(r, lo, hi) == 0.75
    # conformity scores max(lo - y, y - hi) of [0.5, 1.5, -1, 3] in [0, 1]: -0.5, 0.5, 1, 2 -> 'higher' median 1
    assert quantile_margin(np.array([0.5, 1.5, -1.0, 3.0]), np.zeros(4), np.ones(4), 0.5) == 1.0


def test_members_are_stacked_on_the_same_rows_whatever_their_order():
    a = pd.DataFrame(
        {
            "sample_id": ["s2", "s1"],
            "split": ["test", "val"],
            "target": [2.0, 1.0],
            "prediction": [2.5, 1.5],
            "variance": [1.0, 2.0],
        }
    )
    b = pd.DataFrame(
        {"sample_id": ["s1", "s2"], "split": ["val", "test"], "target": [1.0, 2.0], "prediction": [0.5, 1.5]}
    )
    stacked = stack_regression([a, b])
    assert stacked.rows["sample_id"].tolist() == ["s2", "s1"]  # test before val
    np.testing.assert_allclose(stacked.values["mu"], [[2.5, 1.5], [1.5, 0.5]])
    np.testing.assert_allclose(stacked.values["var"], [[1.0, 2.0], [0.0, 0.0]])
    with pytest.raises(CandleInputError, match="other rows"):
        stack_regression([a, b.assign(sample_id=["s1", "s3"])])
    frame = pd.DataFrame({"sample_id": ["x"], "split": ["val"], "label_code": [1], "prob_a": [0.2], "prob_b": [0.8]})
    assert stack_classification([frame, frame]).values["classes"] == ["a", "b"]


def _config(**uq):
    config = tiny_config()
    config["uq"] = {
        "ensemble": "seed",
        "members": 3,
        "model": {},
        "mc_dropout": {"passes": 0, "seed": 0},
        "levels": [0.9],
        "ece_bins": 10,
        **uq,
    }
    return config


def test_seed_members_are_member_trials_another_workflow_would_share():
    config = _config(mc_dropout={"passes": 4, "seed": 0})
    plan = uq_plan(config, "prep-0000abcd")
    base = resolve_params(config["model"])
    shared = trial_id(trial_spec(base, role=dict(MEMBER), data="prep-0000abcd"))
    assert [m["trial_id"] for m in plan.members][0] == shared  # member 0: the model section's MEMBER trial
    assert [m["rng_seed"] for m in plan.members] == [base["rng_seed"] + m for m in range(3)]
    assert len(plan.trials) == 4 and plan.trials[plan.mc_trial]["role"] == {**MEMBER, "save_model": True}
    assert plan.task == "classification"


def test_bootstrap_and_subsample_members_use_their_columns():
    config = _config(ensemble="bootstrap", members=2)
    config["data"]["splits"]["bootstrap"] = 2
    assert [spec["role"].get("bootstrap") for spec in uq_plan(config, "p").trials.values()] == [
        "bootstrap_0",
        "bootstrap_1",
    ]
    config = _config(ensemble="subsample", members=2, fraction=0.5)
    config["data"]["splits"].update(subsample_fractions=[0.5, 1.0], subsample_repeats=2)
    assert [m["column"] for m in uq_plan(config, "p").members] == ["subsample_f0.5_r0", "subsample_f0.5_r1"]


@pytest.mark.parametrize(
    "uq, where",
    [
        ({"ensemble": "bootstrap"}, "uq.members"),  # data.splits.bootstrap is 0
        ({"ensemble": "subsample", "fraction": 0.5}, "uq.fraction"),
        ({"mc_dropout": {"passes": 3, "seed": 0}, "model": {"dropout": 0.0}}, "uq.mc_dropout.passes"),
        ({"model": {"epochs": "many"}}, "uq.model.epochs"),
    ],
)
def test_uq_sections_that_do_not_fit_are_named(uq, where):
    with pytest.raises(CandleInputError, match=where.replace(".", r"\.")):
        uq_plan(_config(**uq), "p")
