"""Production bundles and inference: the preprocessing of new samples is the preparation's, bit
for bit; wrong inputs get clear errors; models load in Keras' safe mode; ensembles' uncertainty."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fake_trial, make_prepared

from candle_lib.atomic import write_json, write_table
from candle_lib.data.prepared import load_prepared
from candle_lib.data.synthetic import synthetic_nt3_cohort
from candle_lib.deploy.export import export_bundle, read_bundle
from candle_lib.deploy.predict import (
    check_gene_set,
    ensemble_uncertainty,
    model_inputs,
    predict_samples,
    read_new_samples,
)
from candle_lib.errors import CandleInputError
from candle_lib.trial.spec import trial_id

COHORT = dict(n_patients=40, n_genes=200, seed=3)  # the cohort of make_prepared


@pytest.fixture(scope="module")
def cohort():
    return synthetic_nt3_cohort(**COHORT)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("prep") / "prep-00000000", **COHORT)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, prepared, cohort):
    root = tmp_path_factory.mktemp("bundle")
    genes = root / "ingested_features.parquet"
    write_table(genes, cohort.genes)
    trial = fake_trial(root / "trials" / "0123456789ab", prepared)
    export_bundle(trial, prepared, genes, root / "production", source="synthetic", ingested="counts")
    return root / "production"


def counts_file(path, cohort, samples, genes=None, *, orientation="genes_by_samples"):
    """Raw counts of ``samples`` (genes x samples, or samples x genes) in a shuffled gene order."""
    table = cohort.counts.loc[:, samples]
    table = table.loc[genes] if genes is not None else table.sample(frac=1.0, random_state=5)
    table.index.name = "gene_id"
    frame = table if orientation == "genes_by_samples" else table.T.rename_axis("sample_id")
    write_table(path, frame.reset_index())
    return path


def test_bundle_records_every_fitted_piece(bundle, prepared, cohort):
    record = read_bundle(bundle)
    data = load_prepared(prepared)
    assert (record["normalization"], record["transform"], record["ingested"]) == ("fpkm_uq", "log2p1", "counts")
    assert record["genes"]["ids"] == cohort.genes["gene_id"].tolist()  # the upper quartile's genes: all, in order
    assert record["genes"]["protein_coding"] == (cohort.genes["gene_type"] == "protein_coding").tolist()
    assert record["features"] == data.features["feature_id"].tolist()
    assert record["labels"] == {"task": "classification", "classes": ["normal", "tumor"], "encoding": "one_hot"}
    assert record["scaler"]["kind"] == "standard" and len(record["scaler"]["state"]["mean_"]) == len(record["features"])


@pytest.mark.parametrize("orientation", ["genes_by_samples", "samples_by_genes"])
def test_raw_counts_give_the_prepared_features_bit_for_bit(bundle, prepared, cohort, tmp_path, orientation):
    data = load_prepared(prepared)
    rows = data.rows("test")
    ids = data.samples["sample_id"].to_numpy()[rows]
    path = counts_file(tmp_path / "new.tsv", cohort, list(ids), orientation=orientation)
    table = read_new_samples(path, read_bundle(bundle)["genes"]["ids"])
    assert list(table.index) == list(ids)
    x = model_inputs(read_bundle(bundle), table, "counts")
    np.testing.assert_array_equal(x, np.asarray(data.matrix[rows]))


def test_a_normalized_matrix_gets_the_transform_and_the_selection(bundle, prepared, cohort, tmp_path):
    from candle_lib.data.normalize import fpkm_uq

    data = load_prepared(prepared)
    counts = cohort.counts.T  # samples x genes, annotation order
    protein_coding = (cohort.genes["gene_type"] == "protein_coding").to_numpy()
    values = pd.DataFrame(
        fpkm_uq(counts.to_numpy(), cohort.genes["length"].to_numpy(float), protein_coding),
        index=counts.index,
        columns=counts.columns,
    )
    path = tmp_path / "fpkm_uq.csv"
    values.iloc[:, ::-1].rename_axis("sample_id").reset_index().to_csv(path, index=False)
    record = read_bundle(bundle)
    x = model_inputs(record, read_new_samples(path, record["features"]), "matrix")
    order = pd.Index(counts.index).get_indexer(data.samples["sample_id"])
    np.testing.assert_allclose(x[order], np.asarray(data.matrix), rtol=1e-6, atol=1e-6)  # float32 input


def test_missing_genes_are_named_with_their_number(bundle, cohort, tmp_path):
    genes = cohort.genes["gene_id"].tolist()
    dropped = [genes[i] for i in (150, 3, 77)]
    kept = [g for g in genes if g not in dropped]
    path = counts_file(tmp_path / "new.tsv", cohort, ["P0001-N", "P0001-T"], kept)
    with pytest.raises(CandleInputError) as error:
        predict_samples([bundle], path, fmt="counts")
    message = str(error.value)
    assert str(path) in message
    assert (
        "3 of the 200 genes the model needs (fpkm_uq reads every gene of the training) are missing from the input"
        in message
    )
    assert f": {dropped[1]}, {dropped[2]}, {dropped[0]}" in message  # training order


def test_a_wrong_gene_set_is_called_so(bundle, cohort, tmp_path):
    table = cohort.counts.loc[:, ["P0001-N"]]
    table.index = [f"GENE{k}" for k in range(len(table))]  # e.g. symbols instead of the training's ids
    path = tmp_path / "symbols.tsv"
    write_table(path, table.rename_axis("gene_id").reset_index())
    with pytest.raises(
        CandleInputError,
        match=r"wrong gene set: only 0 of the 200 genes the model needs .* the input's gene ids look like GENE0, GENE1, GENE10, GENE100, GENE101, \.\.\., the model's like SYNG000001",
    ):
        predict_samples([bundle], path, fmt="counts")


def test_other_ensembl_versions_get_a_hint():
    needed = ["ENSG00000141510.15", "ENSG00000000003.14", "ENSG00000000005.5"]
    with pytest.raises(CandleInputError) as error:
        check_gene_set(
            ["ENSG00000141510.16", "ENSG00000000003.14", "ENSG00000000005.5"],
            needed,
            "new.tsv",
            "the model's input features",
        )
    assert str(error.value) == (
        "new.tsv: 1 of the 3 genes the model needs (the model's input features) are missing from the input: ENSG00000141510.15; "
        "1 of the missing genes match once Ensembl version suffixes (.N) are dropped: annotate with the training's gene versions"
    )


def test_fractional_counts_are_refused_where_they_are(bundle, cohort, tmp_path):
    table = cohort.counts.loc[:, ["P0001-N", "P0001-T"]].astype(float)
    table.iloc[4, 1] = 2.5
    path = tmp_path / "new.tsv"
    write_table(path, table.rename_axis("gene_id").reset_index())
    with pytest.raises(
        CandleInputError,
        match=r"sample 'P0001-T', gene '.*': value 2.5 is not a non-negative integer read count: fractional",
    ):
        predict_samples([bundle], path, fmt="counts")


def test_a_model_that_is_not_the_bundles_is_refused(bundle, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    with open(copy / "model.keras", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CandleInputError, match="model.keras is not the model this preprocessing.json was written for"):
        read_bundle(copy)


def test_safe_mode_refuses_a_lambda_layer(tmp_path, prepared, cohort):
    genes = tmp_path / "genes.parquet"
    write_table(genes, cohort.genes)
    trial = fake_trial(tmp_path / "trial", prepared, lambda_layer=True)
    export_bundle(trial, prepared, genes, tmp_path / "bundle", source="synthetic", ingested="counts")
    path = counts_file(tmp_path / "new.tsv", cohort, ["P0001-N"])
    with pytest.raises(CandleInputError, match=r"Keras' safe mode refused to load the model: .*Lambda"):
        predict_samples([tmp_path / "bundle"], path, fmt="counts")


def test_a_failed_trial_is_not_exported(tmp_path, prepared, cohort):
    trial = fake_trial(tmp_path / "trial", prepared)
    write_json(trial / "metrics.json", {"status": "failed", "failure_reason": "loss is NaN"})
    with pytest.raises(CandleInputError, match=r"the trial failed \(loss is NaN\)"):
        export_bundle(
            trial, prepared, tmp_path / "g.parquet", tmp_path / "bundle", source="synthetic", ingested="counts"
        )


def test_counts_for_a_model_of_normalized_values_are_refused(bundle, cohort, tmp_path):
    record = {**read_bundle(bundle), "ingested": "values", "source": "matrix"}
    with pytest.raises(CandleInputError, match="trained on normalized values .* give format matrix"):
        model_inputs(record, cohort.counts.T, "counts")


def test_ensemble_uncertainty_by_hand():
    # sample 1: members agree on (1/2, 1/2); sample 2: one says class 0, the other class 1
    p = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    got = ensemble_uncertainty(p)
    np.testing.assert_allclose(got["predictive_entropy"], [math.log(2), math.log(2)])
    np.testing.assert_allclose(got["expected_entropy"], [math.log(2), 0.0])
    np.testing.assert_allclose(got["mutual_information"], [0.0, math.log(2)], atol=1e-15)
    np.testing.assert_allclose(got["sd"], [[0.0, 0.0], [0.5, 0.5]])
    # three members (0.2, 0.8), (0.4, 0.6), (0.6, 0.4): mean (0.4, 0.6), population sd sqrt(0.08/3)
    q = np.array([[[0.2, 0.8]], [[0.4, 0.6]], [[0.6, 0.4]]])
    h = lambda a: -(a * math.log(a) + (1 - a) * math.log(1 - a))  # noqa: E731
    got = ensemble_uncertainty(q)
    assert got["predictive_entropy"][0] == pytest.approx(h(0.4), abs=1e-15)
    assert got["mutual_information"][0] == pytest.approx(h(0.4) - (h(0.2) + h(0.4) + h(0.6)) / 3, abs=1e-15)
    assert got["sd"][0, 0] == pytest.approx(math.sqrt(0.08 / 3), abs=1e-15)


def test_an_ensemble_averages_its_members(bundle, cohort, tmp_path):
    path = counts_file(tmp_path / "new.tsv", cohort, ["P0001-N", "P0001-T", "P0002-N"])
    one = predict_samples([bundle], path, fmt="counts", log=lambda m: None)
    assert list(one.columns) == ["sample_id", "pred_label", "prob_normal", "prob_tumor"]
    two = predict_samples([bundle, bundle], path, fmt="counts", log=lambda m: None)
    np.testing.assert_allclose(two[["prob_normal", "prob_tumor"]], one[["prob_normal", "prob_tumor"]])
    np.testing.assert_allclose(two["mutual_information"], 0.0, atol=1e-12)  # identical members agree
    np.testing.assert_allclose(two[["sd_normal", "sd_tumor"]], 0.0)
    trial = json.loads((bundle.parent / "trials" / "0123456789ab" / "params.json").read_text())
    assert json.loads((bundle / "preprocessing.json").read_text())["trial"]["id"] == trial_id(trial)


def test_a_regressor_predicts_its_model_on_the_scaled_features(tmp_path, prepared, cohort):
    import keras

    genes = tmp_path / "genes.parquet"
    write_table(genes, cohort.genes)
    trial = fake_trial(tmp_path / "trial", prepared, regression=True)
    export_bundle(trial, prepared, genes, tmp_path / "bundle", source="synthetic", ingested="counts")
    data = load_prepared(prepared)
    rows = data.rows("test")
    ids = list(data.samples["sample_id"].to_numpy()[rows])
    path = counts_file(tmp_path / "new.tsv", cohort, ids, orientation="samples_by_genes")
    got = predict_samples([tmp_path / "bundle", tmp_path / "bundle"], path, fmt="counts", log=lambda m: None)
    assert list(got.columns) == ["sample_id", "prediction", "sd"]
    state = json.loads((trial / "scaler.json").read_text())["state"]
    scaled = (np.asarray(data.matrix[rows], dtype=np.float64) - state["mean_"]) / state["scale_"]
    expected = keras.saving.load_model(trial / "model.keras").predict(scaled.astype(np.float32), verbose=0)[:, 0]
    # float32 through a dense net of ~100 inputs: rounding of the scaled inputs (float32 in the
    # pipeline, float64 cast to float32 here) and of the sums reaches ~2e-6 near a zero output
    np.testing.assert_allclose(got["prediction"], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got["sd"], 0.0)
