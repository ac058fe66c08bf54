"""Inference input in the wrong form is refused (or, when borderline, warned about) with the
reason, before the model runs: raw counts given as a normalized matrix, values log-transformed
twice, a normalized matrix given as counts. Correct input predicts exactly as before, and a
bundle exported before the value range was recorded still loads."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fake_trial, make_prepared

from candle_lib.atomic import write_json, write_table
from candle_lib.data.normalize import fpkm_uq
from candle_lib.data.prepared import load_prepared
from candle_lib.data.synthetic import synthetic_nt3_cohort
from candle_lib.deploy.export import export_bundle, read_bundle
from candle_lib.deploy.predict import predict_samples
from candle_lib.errors import CandleInputError

COHORT = dict(n_patients=40, n_genes=200, seed=3)  # make_prepared's cohort: 60 samples


@pytest.fixture(scope="module")
def cohort():
    return synthetic_nt3_cohort(**COHORT)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("prep") / "prep-00000000", **COHORT)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, prepared, cohort):
    """A bundle of an (untrained) dense classifier (conftest.fake_trial) on FPKM-UQ, log2(x+1),
    from read counts."""
    root = tmp_path_factory.mktemp("bundle")
    trial = fake_trial(root / "trial", prepared)
    write_table(root / "genes.parquet", cohort.genes)
    export_bundle(trial, prepared, root / "genes.parquet", root / "production", source="synthetic", ingested="counts")
    return root / "production"


def edited_bundle(bundle, directory, **changes):
    """A copy of ``bundle`` with preprocessing.json changed (model.keras, hence its checksum, kept)."""
    shutil.copytree(bundle, directory)
    record = json.loads((directory / "preprocessing.json").read_text())
    record.update(changes)
    for key in [k for k, v in changes.items() if v is DROP]:
        del record[key]
    write_json(directory / "preprocessing.json", record)
    return directory


DROP = object()


@pytest.fixture(scope="module")
def matrix_bundle(bundle, tmp_path_factory):
    """The same model as if trained on a matrix source of log2(FPKM-UQ+1) values as given
    (normalization none, transform none): its inputs are the prepared matrix's values, so the
    recorded value range is the same."""
    return edited_bundle(
        bundle,
        tmp_path_factory.mktemp("matrix") / "production",
        source="matrix",
        ingested="values",
        normalization="none",
        transform="none",
        genes=None,
    )


def samples_table(path, frame: pd.DataFrame) -> str:
    """``frame`` (samples x genes) written samples_by_genes."""
    write_table(path, frame.rename_axis("sample_id").reset_index())
    return path


def fpkm_uq_values(cohort) -> pd.DataFrame:
    counts = cohort.counts.T
    protein_coding = (cohort.genes["gene_type"] == "protein_coding").to_numpy()
    values = fpkm_uq(counts.to_numpy(), cohort.genes["length"].to_numpy(float), protein_coding)
    return pd.DataFrame(values, index=counts.index, columns=counts.columns)


def training_ranges(prepared) -> str:
    """The training samples' ranges as the messages give them, from the prepared matrix."""
    m = np.asarray(load_prepared(prepared).matrix, dtype=np.float32)
    median, q95 = np.quantile(m, 0.5, axis=1), np.quantile(m, 0.95, axis=1)
    return f"medians {median.min():.4g}..{median.max():.4g}, 95th percentiles {q95.min():.4g}..{q95.max():.4g}"


def test_the_bundle_records_the_training_value_range(bundle, prepared):
    recorded = read_bundle(bundle)["value_range"]
    m = np.asarray(load_prepared(prepared).matrix, dtype=np.float32)
    assert recorded["per_sample"]["0.5"] == pytest.approx([np.median(m, axis=1).min(), np.median(m, axis=1).max()])
    assert recorded["pooled"]["0.25"] == pytest.approx(np.quantile(m, 0.25))
    assert recorded["pooled"]["1.0"] == pytest.approx(m.max())


def test_raw_counts_given_as_a_normalized_matrix_are_refused(matrix_bundle, cohort, prepared, tmp_path):
    # before: predicted every sample confidently from values thousands of times the training's
    path = samples_table(tmp_path / "counts.tsv", cohort.counts.T)
    logged = []
    with pytest.raises(CandleInputError) as error:
        predict_samples([matrix_bundle], path, fmt="matrix", log=logged.append)
    message = str(error.value)
    assert message.startswith(
        f"{path}: infer.format matrix: 60 of the 60 samples (P0001-N, P0001-T, P0002-N, P0002-T, P0003-N, ...) "
        "are not on the scale of the training data: sample '"
    )
    assert f"where the training samples had {training_ranges(prepared)}; that is " in message
    assert message.endswith(
        "times the training values' interquartile range (4.426) outside their range (refused past 1.0, a warning past "
        "0.25). Format matrix expects values as the training's data source held them; the model was trained on "
        "normalized values, so read counts cannot be used"
    )
    assert not any("predicted with" in line for line in logged)  # the model never ran


def test_log2_values_given_where_the_bundle_applies_log2p1_are_refused(bundle, cohort, prepared, tmp_path):
    path = samples_table(tmp_path / "log2.tsv", np.log2(fpkm_uq_values(cohort) + 1))
    with pytest.raises(CandleInputError) as error:
        predict_samples([bundle], path, fmt="matrix", log=lambda m: None)
    message = str(error.value)
    assert "60 of the 60 samples (P0001-N, P0001-T, P0002-N, P0002-T, P0003-N, ...) are not on the scale" in message
    assert f"after the log2p1 transform, where the training samples had {training_ranges(prepared)}; " in message
    assert message.endswith(
        "Format matrix expects values normalized as fpkm_uq, not yet log2p1-transformed (the bundle transforms them); "
        "raw read counts go with infer.format counts"
    )


def test_a_normalized_matrix_given_as_counts_is_refused(bundle, cohort, tmp_path):
    values = np.log2(fpkm_uq_values(cohort) + 1).loc[["P0001-N", "P0001-T"]]
    path = samples_table(tmp_path / "values.tsv", values)
    with pytest.raises(CandleInputError) as error:
        predict_samples([bundle], path, fmt="counts", log=lambda m: None)
    first = values.columns[(values.iloc[0] != values.iloc[0].round()).to_numpy().argmax()]
    n_fractional = int((values != values.round()).to_numpy().sum())
    assert str(error.value) == (
        f"{path}: infer.format counts: these are not read counts: {n_fractional} of the 400 values the model reads are "
        f"fractional or negative (e.g. {values.loc['P0001-N', first]:g} for sample 'P0001-N', gene '{first}'), as in "
        "a normalized matrix; format counts needs non-negative integer read counts. For normalized values give "
        "infer.format matrix, which expects values normalized as fpkm_uq, not yet log2p1-transformed (the bundle "
        "transforms them)"
    )


def test_a_negative_count_is_refused_where_it_is(bundle, cohort, tmp_path):
    counts = cohort.counts.T.loc[["P0001-N", "P0001-T"]].copy()
    gene = counts.columns[17]
    counts.loc["P0001-T", gene] = -3
    path = samples_table(tmp_path / "negative.tsv", counts)
    with pytest.raises(CandleInputError) as error:
        predict_samples([bundle], path, fmt="counts", log=lambda m: None)
    assert str(error.value) == (
        f"{path}: sample 'P0001-T', gene '{gene}': value -3 is not a non-negative integer read count: negative"
    )


def test_a_borderline_scale_gets_a_warning_and_predictions(bundle, cohort, tmp_path):
    """FPKM-UQ values 8 times too large (log2: a shift of 3): warned, still predicted."""
    path = samples_table(tmp_path / "scaled.tsv", fpkm_uq_values(cohort) * 8)
    logged = []
    table = predict_samples([bundle], path, fmt="matrix", log=logged.append)
    assert len(table) == 60
    (warning,) = [line for line in logged if line.startswith("WARNING")]
    assert warning.startswith(
        f"WARNING: {path}: 60 of the 60 samples (P0001-N, P0001-T, P0002-N, P0002-T, P0003-N, ...) lie outside the "
        "training data's range: sample '"
    )
    assert warning.endswith(
        "(refused past 1.0, a warning past 0.25). Format matrix expects values normalized as fpkm_uq, not yet "
        "log2p1-transformed (the bundle transforms them); raw read counts go with infer.format counts; predictions "
        "for these samples may be biased"
    )


def test_correct_input_predicts_exactly_as_before(bundle, matrix_bundle, cohort, prepared, tmp_path):
    """Counts through the bundle predict as through an older bundle without a value range (the
    check changes nothing), and the prepared values through the matrix bundle give the same
    predictions, without a warning."""
    old = edited_bundle(bundle, tmp_path / "old", value_range=DROP)
    assert "value_range" not in read_bundle(old)  # exported before it was recorded: still loads
    counts = samples_table(tmp_path / "counts.tsv", cohort.counts.T)
    logged, logged_old = [], []
    new_table = predict_samples([bundle], counts, fmt="counts", log=logged.append)
    old_table = predict_samples([old], counts, fmt="counts", log=logged_old.append)
    pd.testing.assert_frame_equal(new_table, old_table)
    data = load_prepared(prepared)
    values = pd.DataFrame(np.asarray(data.matrix), index=data.samples["sample_id"], columns=data.features["feature_id"])
    matrix_path = samples_table(tmp_path / "values.parquet", values)
    from_matrix = predict_samples([matrix_bundle], matrix_path, fmt="matrix", log=logged.append)
    pd.testing.assert_frame_equal(
        from_matrix.set_index("sample_id"), new_table.set_index("sample_id").loc[values.index]
    )
    assert not [line for line in logged + logged_old if "WARNING" in line]


def test_an_older_bundle_says_the_scale_is_not_checked(bundle, cohort, tmp_path):
    old = edited_bundle(bundle, tmp_path / "old", value_range=DROP)
    path = samples_table(tmp_path / "values.tsv", fpkm_uq_values(cohort).loc[["P0001-N"]])
    logged = []
    predict_samples([old], path, fmt="matrix", log=logged.append)
    assert (
        f"{path}: the bundle records no training value range (exported by an older version): input scale not checked"
        in logged
    )
