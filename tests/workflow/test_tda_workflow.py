"""Training-data analysis through Snakemake on a tiny cohort of two studies: every analysis's
tables and plots, trials shared between analyses run once, fine-tuning starts from the source
group's model, the autoencoder's row is its trial's own score, and a finished analysis is
up to date."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import REPO, planned_jobs, snakemake, tiny_config, write_config

from candle_lib.config import validate_config
from candle_lib.params.specs import resolve_params
from candle_lib.search.methods import prep_id
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec

pytestmark = pytest.mark.workflow

TDA = {
    "learning_curve": {"fractions": [0.5, 1.0]},
    "noise": {"label": [0.0, 0.2], "feature": [0.0, 1.0]},
    "transfer": {"pairs": [["STUDY1", "STUDY2"]]},
    "representation": {"params": {"dense": [16], "latent_dim": 3, "dropout": 0.0, "epochs": 2}},
}


def tda_config():
    return tiny_config(
        data={
            "synthetic": {"n_studies": 2, "study_sd": 0.5},
            "splits": {"subsample_fractions": [0.5], "subsample_repeats": 2, "logo_column": "study"},
        },
        model={"epochs": 2},
        tda=TDA,
    )


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tda")
    config = write_config(workdir / "config.yaml", tda_config())
    snakemake(workdir, config, "tda")
    return workdir


def table(workdir, name):
    return pd.read_csv(workdir / "results" / "tda" / name, sep="\t")


def test_dry_run_plans_the_groups_checkpoint_and_the_known_trials(tmp_path):
    config = write_config(tmp_path / "config.yaml", tda_config())
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", "tda"))
    # before the groups are known: the curve's 2 draws + the plain member, 2 noisy trials, the autoencoder
    assert jobs["train_trial"] == 6 and jobs["tda_groups"] == 1 and jobs["tda_curve"] == 2


def test_every_table_and_plot_is_written(analysis):
    tda = analysis / "results" / "tda"
    for name in ("learning_curve.png", "noise_curve.png", "group_matrix.png"):
        assert (tda / name).stat().st_size > 1000
    curve = table(analysis, "learning_curve.tsv")
    assert curve["fraction"].tolist() == [0.5, 1.0] and curve["n_ok"].tolist() == [2, 1]
    assert curve["n_train"].iloc[0] == pytest.approx(curve["n_train"].iloc[1] / 2, abs=0.5)
    assert curve["mean"].between(0, 1).all()
    noise = table(analysis, "noise_curve.tsv")
    assert sorted(zip(noise["noise"], noise["level"])) == [
        ("feature", 0.0),
        ("feature", 1.0),
        ("label", 0.0),
        ("label", 0.2),
    ]
    matrix = table(analysis, "group_matrix.tsv")
    assert list(zip(matrix["train"], matrix["test_group"])) == [
        (m, g) for m in ("STUDY1", "STUDY2", "all") for g in ("STUDY1", "STUDY2")
    ]
    assert (matrix["status"] == "ok").all() and (matrix["n_scored"] > 0).all()
    transfer = table(analysis, "transfer.tsv")
    assert transfer[["source", "target", "fraction"]].values.tolist() == [["STUDY1", "STUDY2", 0.5]]
    assert transfer["fine_tuned_n_train"].iloc[0] == transfer["scratch_n_train"].iloc[0]
    assert (
        transfer["source_only"].iloc[0] == matrix.set_index(["train", "test_group"]).loc[("STUDY1", "STUDY2"), "value"]
    )


def test_shared_trials_run_once(analysis):
    config = validate_config(tda_config(), REPO / "config" / "schema" / "config.schema.yaml")
    plain = trial_id(trial_spec(resolve_params(config["model"]), role=MEMBER, data=prep_id(config["data"])))
    curve = table(analysis, "learning_curve_trials.tsv")
    noise = table(analysis, "noise_curve_trials.tsv")
    matrix = table(analysis, "group_matrix.tsv")
    assert curve.loc[curve["fraction"] == 1.0, "trial"].tolist() == [plain]
    assert set(noise.loc[noise["level"] == 0.0, "trial"]) == {plain}
    assert set(matrix.loc[matrix["train"] == "all", "trial"]) == {plain}
    # 2 draws + plain, 2 noisy, the autoencoder, 2 group models, fine-tuned + scratch
    assert len(list((analysis / "results" / "trials").iterdir())) == 10


def test_fine_tuning_starts_from_the_source_groups_model(analysis):
    transfer = table(analysis, "transfer_trials.tsv")
    source = transfer.loc[transfer["start"] == "source only", "trial"].iloc[0]
    tuned = transfer.loc[transfer["start"] == "fine-tuned", "trial"].iloc[0]
    log = (analysis / "results" / "trials" / tuned / "trial.log").read_text()
    assert f"starting from the weights of results/trials/{source}/model.keras" in log


def test_autoencoder_row_is_its_trials_test_score(analysis):
    rows = table(analysis, "representation.tsv").set_index("method")
    metrics = json.loads(
        (analysis / "results" / "trials" / rows.loc["autoencoder", "trial"] / "metrics.json").read_text()
    )
    assert rows.loc["autoencoder", "mse"] == pytest.approx(metrics["metrics"]["test_mse"], rel=1e-6)
    assert rows.loc["autoencoder", "correlation"] == pytest.approx(metrics["metrics"]["test_correlation"], rel=1e-5)
    assert rows.loc["pca", "latent_dim"] == 3


def test_finished_analysis_is_up_to_date_and_a_lost_trial_reruns_alone_with_its_table(analysis, tmp_path):
    config = analysis / "config.yaml"
    assert planned_jobs(snakemake(analysis, config, "-n", "tda")) == {}
    copy = tmp_path / "copy"
    shutil.copytree(analysis, copy, symlinks=True)
    lost = table(copy, "transfer_trials.tsv").query("start == 'scratch'")["trial"].iloc[0]
    shutil.rmtree(copy / "results" / "trials" / lost)  # its table, still there, is rebuilt with it
    jobs = planned_jobs(snakemake(copy, copy / "config.yaml", "-n", "tda"))
    assert jobs == {"train_trial": 1, "tda_transfer": 1, "tda_table_page": 1, "tda": 1}  # the table and its report page
