"""Trials of a Keras model of the user's (the example builder config/examples/models/attention_model.py):
the trial directory, the declared hyperparameters and code hash in params.json, metrics computed
from the predictions, exact resume after SIGKILL, the saved model loaded in safe mode by another
process (custom layer registered by importing the builder), MC dropout on it, the user's compile
kept, and a builder that breaks its contract failing the trial's job with one clear error."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_prepared
from test_resume import kill_after_checkpoint, start_trial  # the SIGKILL test's runner

from candle_lib.data.prepared import load_prepared
from candle_lib.params.declared import config_specs
from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_spec

EXAMPLE = REPO / "config" / "examples" / "models" / "attention_model.py"
MODEL = {
    "model": f"{EXAMPLE}:build",
    "dense": [8],
    "dropout": 0.2,
    "epochs": 3,
    "batch_size": 8,
    "optimizer": "adam",
    "scaling": "standard",
    "attention_units": 4,
    "gate": "sigmoid",
}
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def plugin_spec(dataset, role=HOLDOUT, **changes) -> dict:
    specs = config_specs({"model": {"model": MODEL["model"]}})
    return trial_spec(resolve_params(MODEL, changes, specs=specs), role=role, data=dataset.name)


def run(dataset, out, spec, messages=None):
    from candle_lib.trial.run import run_trial

    return run_trial(dataset, spec, out, threads=1, log=(messages if messages is not None else []).append)


def test_a_plugin_trial_writes_its_directory_with_its_hyperparameters_and_code(tiny_prepared, tmp_path):
    spec = plugin_spec(tiny_prepared)
    result = run(tiny_prepared, tmp_path, spec)
    assert result["status"] == "ok", result["failure_reason"]
    for name in ("params.json", "metrics.json", "history.csv", "predictions.parquet", "scaler.json"):
        assert (tmp_path / name).is_file()
    saved = json.loads((tmp_path / "params.json").read_text())
    assert saved["params"]["attention_units"] == 4 and saved["params"]["gate"] == "sigmoid"
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()[:16]
    assert saved["code"] == {str(EXAMPLE): digest}
    # the metrics are the predictions' (an independent count of the correct ones)
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    data = load_prepared(tiny_prepared)
    assert len(predictions) == result["n_eval"] == len(data.rows("val"))
    correct = (predictions["pred_code"] == predictions["label_code"]).mean()
    assert result["metrics"]["val_accuracy"] == pytest.approx(correct)
    probabilities = predictions[[c for c in predictions.columns if c.startswith("prob_")]].to_numpy()
    chosen = probabilities[np.arange(len(predictions)), predictions["label_code"].to_numpy()]
    assert result["metrics"]["val_loss"] == pytest.approx(-np.log(chosen).mean(), rel=1e-5)
    assert list(pd.read_csv(tmp_path / "history.csv")["epoch"]) == [1, 2, 3]


def test_a_builder_with_the_wrong_output_width_fails_the_job_not_the_trial(tiny_prepared, tmp_path):
    from candle_lib.errors import CandleInputError

    builder = tmp_path / "wide.py"
    builder.write_text(EXAMPLE.read_text().replace("Dense(output_width,", "Dense(output_width + 2,"))
    spec = plugin_spec(tiny_prepared, model=f"{builder}:build")
    with pytest.raises(CandleInputError) as raised:
        run(tiny_prepared, tmp_path / "trial", spec)
    assert str(raised.value) == (
        f"{builder}: model.model: build() returned a model whose output has shape (None, 4); this task needs 2 "
        "value(s) per row, (None, 2): give the output layer output_width units"
    )
    assert not (tmp_path / "trial" / "metrics.json").exists()  # no result recorded


def test_an_error_the_builder_raises_is_a_failed_trial(tiny_prepared, tmp_path):
    builder = tmp_path / "picky.py"
    builder.write_text(
        EXAMPLE.read_text().replace(
            "    inputs = keras.Input",
            "    if params['attention_units'] > 2:\n        raise ValueError('too many')\n    inputs = keras.Input",
        )
    )
    result = run(tiny_prepared, tmp_path / "trial", plugin_spec(tiny_prepared, model=f"{builder}:build"))
    assert result["status"] == "failed" and result["failure_reason"] == "ValueError: too many"


def test_a_compiled_model_keeps_the_users_compile(tiny_prepared, tmp_path):
    builder = tmp_path / "compiled.py"
    builder.write_text(
        EXAMPLE.read_text().replace(
            '    return keras.Model(inputs, outputs, name="attention_model")',
            textwrap.indent(
                textwrap.dedent("""
                model = keras.Model(inputs, outputs)
                model.compile(optimizer=keras.optimizers.SGD(0.0123), loss="categorical_crossentropy")
                return model
                """),
                "    ",
            ),
        )
    )
    messages = []
    result = run(tiny_prepared, tmp_path / "trial", plugin_spec(tiny_prepared, model=f"{builder}:build"), messages)
    assert result["status"] == "ok", result["failure_reason"]
    assert "the model comes compiled: keeping its compile (optimizer SGD)" in messages
    history = pd.read_csv(tmp_path / "trial" / "history.csv")
    np.testing.assert_allclose(history["learning_rate"], 0.0123, rtol=1e-6)  # not the configured adam's 0.001
    assert "accuracy" not in history.columns  # the user's metrics (none), not the task's
    assert "val_accuracy" in result["metrics"]  # the trial's own, from the predictions


# --- resume after SIGKILL ----------------------------------------------------------------------


def test_a_sigkilled_plugin_trial_resumes_to_the_uninterrupted_result(tmp_path):
    dataset = make_prepared(tmp_path / "prep-00000002", n_patients=120, n_genes=400, top_variance=200)
    epochs = 60
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(plugin_spec(dataset, epochs=epochs, reduce_lr=5)))

    killed = tmp_path / "killed"
    reached = kill_after_checkpoint(dataset, spec_path, killed, 5)
    assert 5 <= reached < epochs

    resumed = start_trial(dataset, spec_path, killed)
    reference = start_trial(dataset, spec_path, tmp_path / "reference")  # uninterrupted, alongside
    _, log = resumed.communicate(timeout=600)
    _, reference_log = reference.communicate(timeout=600)
    assert resumed.returncode == 0 and reference.returncode == 0, log[-3000:] + reference_log[-3000:]
    assert f"resuming from the checkpoint at epoch {reached}" in log and "resuming" not in reference_log

    a, b = (json.loads((d / "metrics.json").read_text()) for d in (killed, tmp_path / "reference"))
    assert a["status"] == b["status"] == "ok" and a["epochs_run"] == b["epochs_run"] == epochs
    assert a["metrics"] == b["metrics"]  # exactly equal on CPU
    history = [pd.read_csv(d / "history.csv").drop(columns="seconds") for d in (killed, tmp_path / "reference")]
    pd.testing.assert_frame_equal(*history)
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "predictions.parquet"), pd.read_parquet(tmp_path / "reference" / "predictions.parquet")
    )


# --- the saved model, in another process ---------------------------------------------------------

LOADER = """
import json, sys
import keras, numpy as np
from candle_lib.data.prepared import load_prepared
trial, dataset = sys.argv[1], sys.argv[2]
try:
    keras.saving.load_model(trial + "/model.keras", compile=False, safe_mode=True)
    without = "loaded"
except TypeError as exc:
    without = "refused: " + str(exc)
from candle_lib.trial.saved_model import load_trial_model
model = load_trial_model(trial)
data = load_prepared(dataset)
x = np.asarray(data.matrix[data.rows("test")])
passes = model.sample(x, 2, seed=5)
from candle_lib.deploy.predict import load_bundle_model
record = {"params": model.params, "scaler": json.load(open(trial + "/scaler.json"))}
bundle = load_bundle_model(trial, record)  # a production bundle holds the same model.keras
print(json.dumps({
    "bundle_predict": bundle.predict(x).tolist(),
    "without": without,
    "predict": model.predict(x).tolist(),
    "passes_differ": bool(np.any(passes[0] != passes[1])),
    "passes_repeat": bool(np.array_equal(passes, model.sample(x, 2, seed=5))),
    "layers": [type(layer).__name__ for layer in model.model.layers],
}))
"""


def test_a_final_plugin_model_loads_in_safe_mode_and_predicts_the_same(tiny_prepared, tmp_path):
    result = run(tiny_prepared, tmp_path, plugin_spec(tiny_prepared, role=FINAL))
    assert result["status"] == "ok" and (tmp_path / "model.keras").is_file()
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path), str(tiny_prepared)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,  # another directory: the builder is found by its absolute path
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    # without the builder's module imported, safe mode cannot build its custom layer
    assert loaded["without"].startswith("refused: ")
    assert "Could not locate class 'FeatureGate'" in loaded["without"]
    assert loaded["layers"] == ["InputLayer", "FeatureGate", "Dense", "Dropout", "Dense"]
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    classes = load_prepared(tiny_prepared).classes
    expected = predictions[[f"prob_{name}" for name in classes]].to_numpy()
    np.testing.assert_allclose(np.asarray(loaded["predict"]), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(loaded["bundle_predict"]), expected, rtol=1e-6, atol=1e-7)
    assert loaded["passes_differ"] and loaded["passes_repeat"]  # MC dropout: dropout on, seeded
