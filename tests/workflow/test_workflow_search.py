"""Workflow tests of the search at scale: Bayesian rounds as checkpoints, bundled trials,
data columns and plots of the aggregate. Snakemake itself runs the Snakefile on tiny configs."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

from candle_lib.search.upf import read_upf

pytestmark = pytest.mark.workflow

BAYESIAN = {
    "method": "bayesian",
    "seed": 3,
    "space": {"learning_rate": {"type": "log", "low": 0.0005, "high": 0.05}, "dropout": [0.0, 0.3]},
    "bayesian": {"sampler": "tpe", "rounds": 2, "per_round": 2},
}


def trial_mtimes(workdir):
    return {d.name: (d / "metrics.json").stat().st_mtime_ns for d in (workdir / "results" / "trials").iterdir()}


@pytest.fixture(scope="module")
def bayesian_study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bayes")
    config = write_config(workdir / "config.yaml", tiny_config(hpo=BAYESIAN))
    plan = planned_jobs(snakemake(workdir, config, "-n"))
    snakemake(workdir, config)
    return workdir, plan


def test_bayesian_dry_run_shows_the_first_round(bayesian_study):
    _, plan = bayesian_study
    assert plan["propose_round"] == 1  # round 0; later rounds appear as earlier ones finish
    assert "train_trial" not in plan  # the proposals are not known before the checkpoint runs


def test_bayesian_rounds_are_upf_files_and_trials(bayesian_study):
    workdir, _ = bayesian_study
    rounds = [read_upf(workdir / "results" / "hpo" / "rounds" / f"round_{r}.upf") for r in range(2)]
    ids = [row["id"] for rows in rounds for row in rows]
    assert [len(rows) for rows in rounds] == [2, 2]
    table = pd.read_csv(workdir / "results" / "hpo" / "trials.tsv", sep="\t")
    assert list(table["trial_id"]) == list(dict.fromkeys(ids))
    for rows in rounds:
        for row in rows:
            spec = json.loads((workdir / "results" / "trials" / row["id"] / "params.json").read_text())
            assert spec["params"]["learning_rate"] == pytest.approx(row["learning_rate"])
            assert 0.0005 <= row["learning_rate"] <= 0.05 and row["dropout"] in (0.0, 0.3)
    assert json.loads((workdir / "results" / "hpo" / "final" / "metrics.json").read_text())["status"] == "ok"


def test_bayesian_rerun_continues_from_the_last_round(bayesian_study, tmp_path):
    study, _ = bayesian_study
    workdir = tmp_path / "copy"
    shutil.copytree(study, workdir, symlinks=True)
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n")) == {}
    before = trial_mtimes(workdir)
    more = dict(BAYESIAN, bayesian={**BAYESIAN["bayesian"], "rounds": 3})
    write_config(workdir / "config.yaml", tiny_config(hpo=more))
    plan = planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n"))
    assert plan["propose_round"] == 1  # round 2 only
    snakemake(workdir, workdir / "config.yaml")
    after = trial_mtimes(workdir)
    assert all(after[name] == mtime for name, mtime in before.items())  # earlier rounds untouched
    assert len(read_upf(workdir / "results" / "hpo" / "rounds" / "round_2.upf")) == 2


def test_bundled_trials_run_in_fewer_jobs_and_finished_ones_never_again(tmp_path):
    space = {"learning_rate": [0.001, 0.01, 0.003], "dropout": [0.0, 0.2]}
    config = write_config(tmp_path / "config.yaml", tiny_config(hpo={"space": space, "trials_per_job": 4}))
    plan = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert plan.get("train_bundle") == 2 and "train_trial" not in plan  # 6 trials, 4 per job
    snakemake(tmp_path, config)
    before = trial_mtimes(tmp_path)
    assert len(before) == 6
    for trial in before:
        assert (tmp_path / "results" / "trials" / trial / "trial.log").stat().st_size > 0
    assert planned_jobs(snakemake(tmp_path, config, "-n")) == {}

    space["learning_rate"].append(0.03)
    write_config(tmp_path / "config.yaml", tiny_config(hpo={"space": space, "trials_per_job": 4}))
    plan = planned_jobs(snakemake(tmp_path, config, "-n"))
    assert plan.get("train_bundle") == 1  # the chunk with the 2 new trials
    snakemake(tmp_path, config)
    after = trial_mtimes(tmp_path)
    assert len(after) == 8 and all(after[name] == mtime for name, mtime in before.items())
    table = pd.read_csv(tmp_path / "results" / "hpo" / "trials.tsv", sep="\t")
    assert len(table) == 8
    plots = sorted(p.name for p in (tmp_path / "results" / "hpo" / "plots").glob("*.png"))
    assert plots == ["objective_by_dropout.png", "objective_by_learning_rate.png", "objective_by_trial.png"]
    records = [json.loads(p.read_text()) for p in (tmp_path / "results" / "hpo" / "bundles").glob("*.json")]
    # the first chunk of 4 kept its record; the second (2 old + 2 new trials) is a new bundle that
    # trained only the new ones; the old chunk of 2 left its record behind
    assert sorted(len(r) for r in records) == [2, 4, 4] and all(s == "ok" for r in records for s in r.values())


def test_the_11664_grid_plans_27_preparations_and_bundles_not_11664_jobs(tmp_path):
    from conftest import REPO

    plan = planned_jobs(snakemake(tmp_path, REPO / "config" / "examples" / "hpo_grid_11664.yaml", "-n"))
    assert plan["prepare_dataset"] == 27
    assert plan["train_bundle"] == 243  # 432 trials per variant in bundles of 48: 9 x 27
    assert "train_trial" not in plan
    assert not (tmp_path / "results").exists()
