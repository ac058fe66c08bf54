"""Tables of training-data analysis from hand-made trial directories, with values worked out
by hand: learning curve and noise summaries, the group matrix, transfer, and the scores."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from candle_lib.tda.group_matrix import group_matrix_table, group_matrix_wide, held_out
from candle_lib.tda.scoring import score
from candle_lib.tda.tables import curve_tables
from candle_lib.tda.transfer import transfer_tables

SAMPLES = pd.DataFrame(
    {
        "sample_id": ["a", "b", "c", "d", "e", "f", "v1", "v2"],
        "split": ["test"] * 6 + ["val"] * 2,
        "logo_group": ["G1", "G1", "G1", "G2", "G2", "G2", "G1", "G2"],
    }
)


def write_trial(root, tid, predicted=None, *, n_train=10, labels=None, status="ok"):
    """A trial whose test rows a..f have true classes ``labels`` and predicted classes
    ``predicted`` (probability 0.9 on the predicted class); its val rows are always wrong."""
    d = root / tid
    d.mkdir(parents=True)
    metrics = {"status": status, "failure_reason": None if status == "ok" else "loss is NaN", "n_train": n_train}
    (d / "metrics.json").write_text(json.dumps(metrics))
    labels = labels or [0, 1, 1, 0, 1, 0]
    predicted = predicted or labels
    codes = np.array(labels + [0, 1])
    pred = np.array(list(predicted) + [1, 0])
    prob1 = np.where(pred == 1, 0.9, 0.1)
    pd.DataFrame(
        {
            "sample_id": SAMPLES["sample_id"],
            "split": SAMPLES["split"],
            "label_code": codes,
            "pred_code": pred,
            "prob_n": 1 - prob1,
            "prob_t": prob1,
        }
    ).to_parquet(d / "predictions.parquet")


def test_scores_match_hand_computed_values():
    frame = pd.DataFrame({"label_code": [0, 1, 0, 1], "prob_n": [0.9, 0.7, 0.65, 0.2], "prob_t": [0.1, 0.3, 0.35, 0.8]})
    assert score(frame, "accuracy") == 0.75  # argmax n, n, n, t against 0, 1, 0, 1
    # positives 0.3, 0.8 against negatives 0.1, 0.35: 3 of 4 pairs ordered
    assert score(frame, "auc") == 0.75
    expected_loss = -(math.log(0.9) + math.log(0.3) + math.log(0.65) + math.log(0.8)) / 4
    assert score(frame, "loss") == pytest.approx(expected_loss, abs=1e-12)
    regression = pd.DataFrame({"target": [1.0, 2.0, 3.0], "prediction": [1.0, 2.0, 5.0]})
    assert score(regression, "mse") == pytest.approx(4 / 3)
    assert score(regression, "mae") == pytest.approx(2 / 3)
    assert score(regression, "r2") == pytest.approx(1 - 4 / 2)  # SS_res 4, SS_tot 2
    assert math.isnan(score(frame.iloc[:0], "accuracy"))


def test_learning_curve_summary_by_hand(tmp_path):
    write_trial(tmp_path, "r0", [0, 1, 1, 0, 0, 1], n_train=5)  # 4 of 6 right: 2/3
    write_trial(tmp_path, "r1", [0, 1, 1, 0, 1, 1], n_train=5)  # 5 of 6: 5/6
    write_trial(tmp_path, "r2", status="failed", n_train=5)
    write_trial(tmp_path, "all", n_train=10)  # 6 of 6
    points = [
        {"fraction": 0.5, "repeat": 0, "trial": "r0"},
        {"fraction": 0.5, "repeat": 1, "trial": "r1"},
        {"fraction": 0.5, "repeat": 2, "trial": "r2"},
        {"fraction": 1.0, "repeat": 0, "trial": "all"},
    ]
    summary, trials = curve_tables(points, tmp_path, "accuracy", "test", ["fraction"])
    assert trials["value"].iloc[:2].tolist() == pytest.approx([2 / 3, 5 / 6])
    assert trials["status"].tolist() == ["ok", "ok", "failed", "ok"]
    assert math.isnan(trials["value"].iloc[2]) and trials["n_scored"].tolist() == [6, 6, 0, 6]
    half = summary.set_index("fraction").loc[0.5]
    assert half["mean"] == pytest.approx(0.75)
    assert half["sd"] == pytest.approx(math.sqrt(((2 / 3 - 0.75) ** 2 + (5 / 6 - 0.75) ** 2) / 1))
    assert (half["n_ok"], half["n_failed"], half["n_train"]) == (2, 1, 5.0)
    whole = summary.set_index("fraction").loc[1.0]
    assert whole["mean"] == 1.0 and math.isnan(whole["sd"]) and whole["n_ok"] == 1
    # the validation rows (always wrong) are not scored with split test, and are with val
    assert curve_tables(points[3:], tmp_path, "accuracy", "val", ["fraction"])[0]["mean"].tolist() == [0.0]


def test_noise_summary_groups_by_kind_and_level(tmp_path):
    write_trial(tmp_path, "plain")
    write_trial(tmp_path, "l1s0", [1, 1, 1, 0, 1, 0])  # 5/6
    write_trial(tmp_path, "l1s1", [1, 0, 1, 0, 1, 0])  # 4/6
    points = [
        {"noise": "label", "level": 0.0, "seed": 0, "trial": "plain"},
        {"noise": "label", "level": 0.1, "seed": 0, "trial": "l1s0"},
        {"noise": "label", "level": 0.1, "seed": 1, "trial": "l1s1"},
        {"noise": "feature", "level": 0.0, "seed": 0, "trial": "plain"},
    ]
    summary, _ = curve_tables(points, tmp_path, "accuracy", "test", ["noise", "level"])
    got = summary.set_index(["noise", "level"])["mean"].to_dict()
    assert got == pytest.approx({("feature", 0.0): 1.0, ("label", 0.0): 1.0, ("label", 0.1): 0.75})


def test_group_matrix_scores_each_model_on_each_groups_test_rows(tmp_path):
    # test rows a, b, c are G1 and d, e, f G2; true classes 0 1 1 | 0 1 0
    write_trial(tmp_path, "m1", [0, 1, 1, 1, 0, 1])  # G1 3/3, G2 0/3
    write_trial(tmp_path, "m2", [0, 0, 0, 0, 1, 0])  # G1 1/3, G2 3/3
    write_trial(tmp_path, "mall", [0, 1, 0, 0, 1, 1])  # G1 2/3, G2 2/3
    points = [{"train": "G1", "trial": "m1"}, {"train": "G2", "trial": "m2"}, {"train": "all", "trial": "mall"}]
    table = group_matrix_table(points, tmp_path, SAMPLES, ["G1", "G2"], "accuracy", "test")
    wide = group_matrix_wide(table)
    assert list(wide.index) == ["G1", "G2", "all"] and list(wide.columns) == ["G1", "G2"]
    np.testing.assert_allclose(wide.to_numpy(), [[1, 0], [1 / 3, 1], [2 / 3, 2 / 3]])
    assert table["n_scored"].tolist() == [3] * 6
    assert table["held_out"].tolist() == [False, True, True, False, False, False]


def test_held_out_reads_the_model_names():
    groups = ["A", "B", "C"]
    assert held_out("A", "B", groups) and not held_out("A", "A", groups)
    assert held_out("all but B", "B", groups) and not held_out("all but B", "A", groups)
    assert not held_out("all", "C", groups)


def test_transfer_summary_by_hand(tmp_path):
    # target G2: test rows d, e, f with classes 0 1 0
    write_trial(tmp_path, "src", [0, 1, 1, 1, 1, 1], n_train=20)  # on G2: 1/3
    write_trial(tmp_path, "ft0", [0, 0, 0, 0, 1, 0], n_train=4)  # 3/3
    write_trial(tmp_path, "ft1", [0, 0, 0, 0, 1, 1], n_train=4)  # 2/3
    write_trial(tmp_path, "sc0", [0, 0, 0, 1, 1, 1], n_train=4)  # 1/3
    write_trial(tmp_path, "sc1", [0, 0, 0, 0, 0, 0], n_train=4)  # 2/3
    pair = {"source": "G1", "target": "G2"}
    points = [
        {**pair, "fraction": 0.0, "repeat": 0, "start": "source only", "trial": "src"},
        {**pair, "fraction": 0.5, "repeat": 0, "start": "fine-tuned", "trial": "ft0"},
        {**pair, "fraction": 0.5, "repeat": 0, "start": "scratch", "trial": "sc0"},
        {**pair, "fraction": 0.5, "repeat": 1, "start": "fine-tuned", "trial": "ft1"},
        {**pair, "fraction": 0.5, "repeat": 1, "start": "scratch", "trial": "sc1"},
    ]
    summary, trials = transfer_tables(points, tmp_path, SAMPLES, "accuracy", "test")
    assert trials["n_scored"].tolist() == [3] * 5
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["source"], row["target"], row["fraction"]) == ("G1", "G2", 0.5)
    assert row["fine_tuned_mean"] == pytest.approx(5 / 6)
    assert row["fine_tuned_sd"] == pytest.approx(math.sqrt(2 * (1 / 6) ** 2))
    assert row["scratch_mean"] == pytest.approx(0.5)
    assert row["fine_tuned_minus_scratch"] == pytest.approx(1 / 3)
    assert row["source_only"] == pytest.approx(1 / 3)
    assert (row["fine_tuned_n_ok"], row["scratch_n_train"]) == (2, 4.0)
