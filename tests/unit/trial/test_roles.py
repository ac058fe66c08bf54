"""Trial roles: the rows each role trains on, scores and predicts, noise on training rows only,
saved models and fine-tuning from them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.trial.roles import (
    add_feature_noise,
    noisy_label_codes,
    noisy_targets,
    role_rows,
)
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_spec

# 10 samples: rows 0-5 train, 6-7 val, 8-9 test
SAMPLES = pd.DataFrame(
    {
        "sample_id": [f"s{i}" for i in range(10)],
        "split": ["train"] * 6 + ["val"] * 2 + ["test"] * 2,
        "fold": [0, 1, 2, 0, 1, 2, 0, 1, -1, -1],
        "subsample_f0.5_r0": [True, False, True, False, True, False, False, False, False, False],
        "bootstrap_0": [2, 0, 1, 0, 3, 0, 0, 0, 0, 0],
        "logo_group": ["a", "a", "b", "b", "c", "c", "a", "b", "a", "c"],
    }
)


def test_holdout_and_final_roles_keep_their_rows():
    rows = role_rows(SAMPLES, HOLDOUT)
    assert rows.train.tolist() == [0, 1, 2, 3, 4, 5] and rows.eval.tolist() == [6, 7] and rows.prefix == "val"
    rows = role_rows(SAMPLES, FINAL)
    assert rows.train.tolist() == list(range(8)) and rows.eval.tolist() == [8, 9] and rows.prefix == "test"


def test_a_fold_trains_on_the_other_folds_of_train_and_val():
    rows = role_rows(SAMPLES, {"kind": "fold", "train": ["train", "val"], "eval": "fold", "fold": 1})
    assert rows.train.tolist() == [0, 2, 3, 5, 6] and rows.eval.tolist() == [1, 4, 7] and rows.prefix == "val"


def test_subsample_bootstrap_and_groups_restrict_the_training_rows():
    assert role_rows(SAMPLES, {**HOLDOUT, "subsample": "subsample_f0.5_r0"}).train.tolist() == [0, 2, 4]
    assert role_rows(SAMPLES, {**HOLDOUT, "bootstrap": "bootstrap_0"}).train.tolist() == [0, 0, 2, 4, 4, 4]
    grouped = role_rows(
        SAMPLES, {"kind": "group", "train": ["train"], "eval": "test", "train_groups": ["a"], "eval_groups": ["c"]}
    )
    assert grouped.train.tolist() == [0, 1] and grouped.eval.tolist() == [9]


def test_predict_adds_rows_of_other_splits():
    rows = role_rows(SAMPLES, {**HOLDOUT, "predict": ["test"]})
    assert rows.eval.tolist() == [6, 7] and {k: v.tolist() for k, v in rows.extra.items()} == {"test": [8, 9]}


@pytest.mark.parametrize(
    "role, where",
    [
        ({**HOLDOUT, "subsample": "subsample_f0.9_r0"}, "role.subsample"),
        ({**HOLDOUT, "folds": 1}, "role"),
        ({"kind": "fold", "train": ["train"], "eval": "fold"}, "role.fold"),
        ({**HOLDOUT, "train_groups": ["zzz"]}, "role"),
    ],
)
def test_roles_that_do_not_fit_the_split_table_are_named(role, where):
    with pytest.raises(CandleInputError) as error:
        role_rows(SAMPLES, role)
    assert error.value.where == where


def test_label_noise_flips_exactly_the_share_asked_to_other_classes():
    codes = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    noisy = noisy_label_codes(codes, 3, 0.3, seed=5)
    changed = np.flatnonzero(noisy != codes)
    assert len(changed) == 3  # round(0.3 * 10), each to a different class
    assert set(noisy.tolist()) <= {0, 1, 2}
    np.testing.assert_array_equal(noisy, noisy_label_codes(codes, 3, 0.3, seed=5))
    assert noisy_label_codes(codes, 3, 0.0, seed=5).tolist() == codes.tolist()


def test_regression_and_feature_noise_have_the_asked_spread():
    y = np.arange(20000, dtype=np.float64)
    noise = noisy_targets(y, 0.5, seed=1) - y
    assert abs(noise.std() / (0.5 * y.std()) - 1) < 0.02
    x = np.zeros((3000, 50), dtype=np.float32)
    add_feature_noise(x, 2.0, seed=3)
    assert abs(x.std() - 2.0) < 0.02 and abs(x.mean()) < 0.01


TINY = {
    "conv": [4, 10, 1],
    "pool": [5],
    "dense": [8],
    "epochs": 2,
    "batch_size": 16,
    "optimizer": "adam",
    "scaling": "standard",
}


def _train(prepared, out, role, **kwargs):
    from candle_lib.trial.run import run_trial

    spec = trial_spec(resolve_params(TINY), role=role, data="prep-00000000")
    return run_trial(prepared, spec, out, threads=1, log=lambda message: None, **kwargs)


def test_a_fold_trial_predicts_its_fold_and_a_member_also_the_test_split(tiny_prepared, tmp_path):
    samples = pd.read_parquet(tiny_prepared / "samples.parquet")
    fold = _train(
        tiny_prepared, tmp_path / "fold", {"kind": "fold", "train": ["train", "val"], "eval": "fold", "fold": 2}
    )
    in_fold = samples[samples["split"].isin(["train", "val"]) & (samples["fold"] == 2)]
    predicted = pd.read_parquet(tmp_path / "fold" / "predictions.parquet")
    assert fold["status"] == "ok" and fold["objective"]["metric"] == "val_loss"
    assert sorted(predicted["sample_id"]) == sorted(in_fold["sample_id"]) and fold["n_eval"] == len(in_fold)

    member = _train(tiny_prepared, tmp_path / "member", {**HOLDOUT, "predict": ["test"], "save_model": True})
    predicted = pd.read_parquet(tmp_path / "member" / "predictions.parquet")
    counts = samples["split"].value_counts()
    assert predicted["split"].value_counts().to_dict() == {"val": counts["val"], "test": counts["test"]}
    test_rows = predicted[predicted["split"] == "test"]
    assert member["metrics"]["test_accuracy"] == pytest.approx((test_rows["pred_label"] == test_rows["label"]).mean())
    assert (tmp_path / "member" / "model.keras").is_file()


def test_fine_tuning_starts_from_the_saved_weights(tiny_prepared, tmp_path):
    import keras

    _train(tiny_prepared, tmp_path / "source", {**HOLDOUT, "save_model": True})
    role = {"kind": "transfer", "train": ["train"], "eval": "val", "init": "abcdef012345", "save_model": True}
    with pytest.raises(CandleInputError):
        _train(tiny_prepared, tmp_path / "tuned", role)
    # one epoch of plain SGD at a negligible rate: the weights stay those it started from
    spec = trial_spec(
        resolve_params({**TINY, "epochs": 1, "optimizer": "sgd", "learning_rate": 1e-9}),
        role=role,
        data="prep-00000000",
    )
    from candle_lib.trial.run import run_trial

    run_trial(
        tiny_prepared,
        spec,
        tmp_path / "tuned",
        threads=1,
        log=lambda message: None,
        init_model=tmp_path / "source" / "model.keras",
    )
    source = keras.saving.load_model(tmp_path / "source" / "model.keras")
    tuned = keras.saving.load_model(tmp_path / "tuned" / "model.keras")
    for a, b in zip(source.get_weights(), tuned.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert max(np.abs(w).max() for w in source.get_weights()) > 0.1  # far from any near-zero start
    assert json.loads((tmp_path / "tuned" / "params.json").read_text())["role"]["init"] == "abcdef012345"


def test_a_saved_trial_predicts_new_rows_as_it_predicted_its_own(tiny_prepared, tmp_path):
    from candle_lib.trial.saved_model import load_trial_model

    _train(tiny_prepared, tmp_path / "m", {**HOLDOUT, "predict": ["test"], "save_model": True})
    predicted = pd.read_parquet(tmp_path / "m" / "predictions.parquet")
    samples = pd.read_parquet(tiny_prepared / "samples.parquet")
    rows = samples.reset_index(drop=True).set_index("sample_id").index.get_indexer(predicted["sample_id"])
    x = np.load(tiny_prepared / "matrix.npy")[rows]
    trial = load_trial_model(tmp_path / "m")
    probabilities = trial.predict(x)
    np.testing.assert_allclose(probabilities, predicted[["prob_normal", "prob_tumor"]].to_numpy(), atol=1e-5)
    draws = trial.sample(x[:5], passes=4, seed=1)
    assert draws.shape == (4, 5, 2) and np.allclose(draws.sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(draws, trial.sample(x[:5], passes=4, seed=1))  # seeded
    assert not np.allclose(draws[0], draws[1])  # dropout on: the passes differ
