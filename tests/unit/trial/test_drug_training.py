"""Drug-response trials: batches assembled from the join indices, a regression head scored by
MSE, MAE, R² and Pearson."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.drug_prepared import load_drug_prepared, prepare_drug_response
from candle_lib.data.drug_tables import FeatureTable, gather_batch, join_indices
from candle_lib.data.synthetic import synthetic_drug_response
from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_spec

MODEL = {
    "model": "dense",
    "task": "regression",
    "dense": [32, 16],
    "dropout": 0.0,
    "optimizer": "adam",
    "learning_rate": 0.003,
    "batch_size": 64,
    "epochs": 25,
    "scaling": "standard",
}


def table(frame: pd.DataFrame, id_column: str) -> FeatureTable:
    return FeatureTable(
        ids=pd.Index(frame[id_column].astype(str)),
        columns=pd.Index(frame.columns[1:]),
        matrix=frame.iloc[:, 1:].to_numpy(np.float32),
    )


@pytest.fixture(scope="module")
def drug_set(tmp_path_factory):
    synthetic = synthetic_drug_response(
        n_cell_lines=30, n_drugs=20, n_genes=40, n_descriptors=8, n_fingerprint_bits=16, seed=3
    )
    cell, drug = table(synthetic.cell_features, "cell_line"), table(synthetic.drug_features, "drug")
    out = tmp_path_factory.mktemp("drug") / "prep-drug0001"
    manifest = prepare_drug_response(out, cell, drug, synthetic.responses, target="growth", splits={"seed": 1})
    return out, cell, drug, synthetic, manifest


def test_prepared_set_keeps_indices_and_reports_unprofiled(drug_set):
    out, cell, drug, synthetic, manifest = drug_set
    data = load_drug_prepared(out)
    responses = synthetic.responses
    profiled = responses["cell_line"].isin(cell.ids) & responses["drug"].isin(drug.ids)
    assert manifest["n_responses"] == int(profiled.sum()) == len(data.samples)
    assert manifest["join"]["n_dropped"] == int((~profiled).sum()) > 0
    assert list(cell.ids[data.samples["cell_row"]]) == data.samples["cell_line"].tolist()
    assert list(drug.ids[data.samples["drug_row"]]) == data.samples["drug"].tolist()
    assert set(data.samples["split"]) == {"train", "val", "test"}


def test_batches_from_the_join_equal_the_library_gather(drug_set):
    from candle_lib.trial.feeds import JoinedInputs

    out, cell, drug, synthetic, _ = drug_set
    data = load_drug_prepared(out)
    inputs = JoinedInputs(
        data.cell, data.drug, data.samples["cell_row"], data.samples["drug_row"], data.samples["dose"]
    )
    rows = np.array([5, 0, 17, 3])
    kept = synthetic.responses[
        synthetic.responses["cell_line"].isin(cell.ids) & synthetic.responses["drug"].isin(drug.ids)
    ]
    join = join_indices(kept.reset_index(drop=True), cell.ids, drug.ids)
    np.testing.assert_array_equal(inputs.gather(rows).numpy(), gather_batch(cell, drug, join, rows))


def test_drug_response_trial_learns_and_reports_r2_and_pearson(drug_set, tmp_path):
    from candle_lib.trial.run import run_trial

    out = drug_set[0]
    spec = trial_spec(resolve_params(MODEL), role=HOLDOUT, data=out.name)
    result = run_trial(out, spec, tmp_path, log=lambda message: None)
    assert result["status"] == "ok", result["failure_reason"]
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    y, p = predictions["target"].to_numpy(), predictions["prediction"].to_numpy()
    metrics = result["metrics"]
    assert metrics["val_mse"] == pytest.approx(np.mean((y - p) ** 2), rel=1e-9)
    assert metrics["val_mae"] == pytest.approx(np.mean(np.abs(y - p)), rel=1e-9)
    assert metrics["val_r2"] == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-9)
    assert metrics["val_pearson"] == pytest.approx(np.corrcoef(y, p)[0, 1], rel=1e-9)
    assert metrics["val_r2"] > 0.5  # dose and the drug/cell features explain most of the growth
    assert result["objective"]["metric"] == "val_mse"
    assert set(json.loads((tmp_path / "scaler.json").read_text())) == {"cell", "drug"}


def test_a_classifier_on_drug_response_data_is_refused(drug_set, tmp_path):
    from candle_lib.errors import CandleInputError
    from candle_lib.trial.run import run_trial

    spec = trial_spec(resolve_params(MODEL, {"task": "classification"}), role=HOLDOUT, data=drug_set[0].name)
    with pytest.raises(CandleInputError, match="task: regression"):
        run_trial(drug_set[0], spec, tmp_path, log=lambda message: None)
