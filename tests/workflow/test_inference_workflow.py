"""Workflow test of production inference: a tiny study through train_final, then the infer
target on the raw counts of its test samples (genes shuffled) and on an ensemble of saved trials."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec

pytestmark = pytest.mark.workflow

ONE_POINT = {"space": {"learning_rate": [0.005]}}  # one search trial: the final retraining is what matters


def infer_config(workdir, **infer):
    return write_config(workdir / "config.yaml", tiny_config(hpo=ONE_POINT, infer=infer))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("infer")
    snakemake(workdir, infer_config(workdir), "hpo")
    return workdir


def test_stays_out_of_the_default_target(tmp_path):
    config = infer_config(tmp_path)
    assert "predict_samples" not in planned_jobs(snakemake(tmp_path, config, "-n"))
    result = snakemake(tmp_path, config, "infer", "-n", check=False)
    assert (
        result.returncode != 0
        and "config key 'infer.input': set it to the table of the samples to predict" in result.stdout + result.stderr
    )


def raw_counts_of(workdir, sample_ids, path):
    """The generated raw counts of some samples, genes shuffled, as genes x samples."""
    counts = pd.read_csv(workdir / "results/raw/synthetic/counts.tsv.gz", sep="\t", index_col=0)
    counts.loc[:, sample_ids].sample(frac=1.0, random_state=11).to_csv(path, sep="\t")
    return path


def prob_columns(frame):
    return [c for c in frame.columns if c.startswith("prob_")]


def test_raw_counts_of_test_samples_give_the_final_trials_probabilities(study):
    final = pd.read_parquet(study / "results/hpo/final/predictions.parquet")
    test = final[final["split"] == "test"]
    assert len(test) >= 10
    ids = list(test["sample_id"])[::-1]
    config = infer_config(study, input=str(raw_counts_of(study, ids, study / "new_counts.tsv")), format="counts")
    snakemake(study, config, "infer")
    got = pd.read_csv(study / "results/infer/predictions.tsv", sep="\t")
    assert list(got.columns) == ["sample_id", "pred_label", "prob_normal", "prob_tumor"]
    assert list(got["sample_id"]) == ids
    expected = test.set_index("sample_id").loc[ids]
    np.testing.assert_allclose(
        got[prob_columns(got)].to_numpy(), expected[prob_columns(got)].to_numpy(), atol=1e-5, rtol=0
    )
    assert list(got["pred_label"]) == list(expected["pred_label"])
    record = json.loads((study / "results/production/final/preprocessing.json").read_text())
    assert (
        record["trial"]["role"] == "final" and record["normalization"] == "fpkm_uq" and len(record["features"]) == 100
    )
    assert (study / "results/production/final/model.keras").read_bytes() == (
        study / "results/hpo/final/model.keras"
    ).read_bytes()


def test_an_ensemble_of_saved_trials_averages_and_reports_uncertainty(study):
    from candle_lib.trial.run import run_trial

    prep = next((study / "results/data/prepared").glob("prep-*"))
    base = tiny_config()["model"]
    members = {}
    for seed in (1, 2):
        spec = trial_spec(resolve_params(base, {"rng_seed": seed}), role={**MEMBER, "save_model": True}, data=prep.name)
        members[trial_id(spec)] = run_trial(prep, spec, study / "results/trials" / trial_id(spec), log=lambda m: None)
    assert all(m["status"] == "ok" for m in members.values())
    ids = list(members)
    tables = [
        pd.read_parquet(study / f"results/trials/{tid}/predictions.parquet")
        .query("split == 'test'")
        .set_index("sample_id")
        for tid in ids
    ]
    samples = list(tables[0].index)
    config = infer_config(
        study,
        input=str(raw_counts_of(study, samples, study / "ensemble_counts.tsv")),
        models=[ids[0], f"results/trials/{ids[1]}"],
    )
    snakemake(study, config, "infer")
    got = pd.read_csv(study / "results/infer/predictions.tsv", sep="\t").set_index("sample_id").loc[samples]
    p = np.stack(
        [t.loc[samples, ["prob_normal", "prob_tumor"]].to_numpy() for t in tables]
    )  # members x samples x classes
    mean = p.mean(axis=0)
    np.testing.assert_allclose(got[["prob_normal", "prob_tumor"]].to_numpy(), mean, atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        got[["sd_normal", "sd_tumor"]].to_numpy(), np.abs(p[0] - p[1]) / 2, atol=1e-5, rtol=0
    )  # two members
    entropy = lambda q: -(q * np.log(q)).sum(axis=-1)  # noqa: E731
    np.testing.assert_allclose(got["predictive_entropy"], entropy(mean), atol=1e-4)
    np.testing.assert_allclose(got["mutual_information"], entropy(mean) - entropy(p).mean(axis=0), atol=1e-4)
    assert all((study / f"results/production/{tid}/model.keras").is_file() for tid in ids)
