"""A trial's prediction of its eval rows taken from the last validation pass (issue 18: one pass
of the model over the eval rows fewer after training). The results must be exactly those of a
separate prediction pass: every trial below runs twice, with the kept outputs and with them
switched off, and its predictions, history and metrics are compared for equality."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from candle_lib.params.specs import resolve_params
from candle_lib.trial.run import TrialRun, run_trial
from candle_lib.trial.spec import HOLDOUT, trial_spec

CASES = {  # name: (parameters, the prepared dataset's fixture)
    "nt3 (conv)": ({"model": "nt3", "conv": [8, 5, 1], "pool": [2], "dense": [8], "epochs": 3}, "tiny_prepared"),
    "dense": ({"model": "dense", "dense": [16, 8], "epochs": 3}, "tiny_prepared"),
    "p1b1 (reconstruction)": ({"model": "p1b1", "dense": [16], "latent_dim": 4, "epochs": 2}, "tiny_prepared"),
    "drug response (regression)": (
        {"model": "dense", "dense": [8], "task": "regression", "epochs": 2, "batch_size": 64},
        "drug_prepared",
    ),
}


@pytest.fixture(scope="module")
def drug_prepared(tmp_path_factory):
    from candle_lib.data.drug_prepared import prepare_drug_response
    from candle_lib.data.drug_tables import FeatureTable
    from candle_lib.data.synthetic import synthetic_drug_response

    synthetic = synthetic_drug_response(n_cell_lines=12, n_drugs=8, n_genes=20, n_descriptors=4, n_fingerprint_bits=8)

    def table(frame, id_column):
        ids, columns = pd.Index(frame[id_column].astype(str)), pd.Index(frame.columns[1:])
        return FeatureTable(ids=ids, columns=columns, matrix=frame.iloc[:, 1:].to_numpy(np.float32))

    out = tmp_path_factory.mktemp("drug") / "prep-drug0002"
    cell, drug = table(synthetic.cell_features, "cell_line"), table(synthetic.drug_features, "drug")
    prepare_drug_response(out, cell, drug, synthetic.responses, target="growth", splits={"seed": 1})
    return out


def run_counting_predictions(prepared, out_dir, params: dict, monkeypatch, keep: bool = True):
    """run_trial of ``params`` (role holdout); the trial's files and how often Keras predicted."""
    calls = []
    original = keras.Model.predict
    monkeypatch.setattr(keras.Model, "predict", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    if not keep:
        monkeypatch.setattr(TrialRun, "keeps_validation_outputs", lambda self: False)
    spec = trial_spec(resolve_params(params), role=HOLDOUT, data=prepared.name)
    result = run_trial(prepared, spec, out_dir, threads=1, log=lambda message: None)
    monkeypatch.undo()
    return result, len(calls)


def same_results(first, second) -> None:
    pd.testing.assert_frame_equal(
        pd.read_parquet(first / "predictions.parquet"),
        pd.read_parquet(second / "predictions.parquet"),
        check_exact=True,
    )
    history = [pd.read_csv(d / "history.csv").drop(columns="seconds") for d in (first, second)]
    pd.testing.assert_frame_equal(*history, check_exact=True)
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (first, second)]
    for m in metrics:
        m.pop("wall_seconds")
    assert metrics[0] == metrics[1]


@pytest.mark.parametrize("name", list(CASES))
def test_the_kept_outputs_are_the_predictions_of_a_separate_pass(name, request, tmp_path, monkeypatch):
    params, dataset = CASES[name]
    prepared = request.getfixturevalue(dataset)
    kept, kept_calls = run_counting_predictions(prepared, tmp_path / "kept", params, monkeypatch)
    again, again_calls = run_counting_predictions(prepared, tmp_path / "predicted", params, monkeypatch, False)
    assert kept["status"] == again["status"] == "ok"
    assert (kept_calls, again_calls) == (0, 1)  # the prediction pass ran only when switched off
    same_results(tmp_path / "kept", tmp_path / "predicted")
    predictions = pd.read_parquet(tmp_path / "kept" / "predictions.parquet")
    assert len(predictions) == kept["n_eval"] > 0


def test_weights_restored_from_an_earlier_epoch_are_predicted_again(tiny_prepared, tmp_path, monkeypatch):
    """Early stopping restores the best epoch's weights; the last validation pass ran with the last
    epoch's, so the trial predicts anew (and gets what a trial without kept outputs gets)."""
    params = {"model": "dense", "dense": [16], "epochs": 40, "learning_rate": 0.05, "early_stopping": 2}
    kept, kept_calls = run_counting_predictions(tiny_prepared, tmp_path / "kept", params, monkeypatch)
    assert kept["stopped_early"] and kept["best_epoch"] < kept["epochs_run"]  # the case this test is about
    again, again_calls = run_counting_predictions(tiny_prepared, tmp_path / "predicted", params, monkeypatch, False)
    assert (kept_calls, again_calls) == (1, 1)
    same_results(tmp_path / "kept", tmp_path / "predicted")
    history = pd.read_csv(tmp_path / "kept" / "history.csv")
    best = history.loc[history["epoch"] == kept["best_epoch"], "val_loss"].item()
    assert kept["metrics"]["val_loss"] == pytest.approx(best, rel=1e-5)  # the restored epoch's model predicted


def test_a_role_predicting_more_rows_than_it_validates_predicts_them_all(tiny_prepared, tmp_path, monkeypatch):
    """A role that predicts the test rows too cannot take them from the validation pass."""
    role = {**HOLDOUT, "predict": ["test"]}
    spec = trial_spec(resolve_params({"model": "dense", "dense": [8], "epochs": 2}), role=role, data=tiny_prepared.name)
    run = TrialRun(tiny_prepared, spec, tmp_path, 1, lambda message: None)
    assert len(run.feed.predicted_rows) > len(run.feed.eval_rows)
    run.scale()
    run.build()
    assert not run.keeps_validation_outputs()


def test_the_wrappers_leave_the_model_as_it_was(tiny_prepared, tmp_path):
    """After fit the model has its own test_step and compute_metrics again and saves as before."""
    spec = trial_spec(
        resolve_params({"model": "dense", "dense": [8], "epochs": 1}), role=HOLDOUT, data=tiny_prepared.name
    )
    run = TrialRun(tiny_prepared, spec, tmp_path, 1, lambda message: None)
    run.scale()
    run.build()
    from candle_lib.trial.callbacks import PlateauTracker, TrialMonitor

    monitor, tracker = TrialMonitor(1, 3600.0, log=lambda m: None), PlateauTracker("val_loss", log=lambda m: None)
    run.train(monitor, tracker, 0)
    assert run.validation_outputs is not None and run.validation_outputs.epoch == 1
    assert "test_step" not in vars(run.model) and "compute_metrics" not in vars(run.model)
    kept = run.predict(run.model)
    separate = np.asarray(run.model.predict(run.feed.prediction(run.eval_batch), verbose=0), dtype=np.float64)
    assert np.array_equal(kept, separate)
    run.model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in run.model.get_weights()]
