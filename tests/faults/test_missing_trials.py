"""Fault: a trial directory deleted (or cut short) after the search's tables were written.

Snakemake re-runs a job whose output is missing only when a job that runs needs it, so before
the fix a deleted trial stayed missing ("Nothing to be done") while trials.tsv and best.json still
reported it. Now the next run re-runs exactly the missing trials, aggregates again and ends with
the same trials.tsv (but for wall time) and best.json as the clean study. One tiny study (three
trials in two bundles of hpo.trials_per_job: 2) is shared by the module; each test works on a copy.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

SPACE = {"learning_rate": [0.001, 0.01, 0.003]}
TRIAL_FILES = ["params.json", "metrics.json", "history.csv", "predictions.parquet", "scaler.json"]


def config(trials_per_job: int) -> dict:
    return tiny_config(hpo={"space": SPACE, "trials_per_job": trials_per_job})


@pytest.fixture(scope="module")
def clean_study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("missing_trials") / "clean"
    workdir.mkdir()
    write_config(workdir / "config.yaml", config(2))
    snakemake(workdir, workdir / "config.yaml", "hpo")
    return workdir


def copy_of(clean_study, tmp_path):
    workdir = tmp_path / "study"
    shutil.copytree(clean_study, workdir, symlinks=True)
    return workdir


def search_results(workdir) -> tuple[pd.DataFrame, dict]:
    table = pd.read_csv(workdir / "results" / "hpo" / "trials.tsv", sep="\t").drop(columns="wall_seconds")
    return table, json.loads((workdir / "results" / "hpo" / "best.json").read_text())


def trial_mtimes(workdir) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (workdir / "results" / "trials").glob("*/metrics.json")}


def bundles(workdir) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (workdir / "results" / "hpo" / "bundles").glob("*.json")}


def assert_restored(workdir, clean_study, untouched: dict[str, int]) -> None:
    table, best = search_results(workdir)
    clean_table, clean_best = search_results(clean_study)
    pd.testing.assert_frame_equal(table, clean_table)
    assert best == clean_best
    for trial in clean_table["trial_id"]:
        assert sorted(p.name for p in (workdir / "results" / "trials" / trial).iterdir()) == sorted(
            [*TRIAL_FILES, "trial.log"]
        )
    after = trial_mtimes(workdir)
    assert {trial: after[trial] for trial in untouched} == untouched  # only the missing ones re-ran
    # the same best: the final model is not retrained (the dry run cannot know that yet, so it
    # lists train_final; once aggregated, Snakemake finds best.json's content unchanged)
    final = ("results", "hpo", "final", "metrics.json")
    assert workdir.joinpath(*final).stat().st_mtime_ns == clean_study.joinpath(*final).stat().st_mtime_ns
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "hpo", "-n")) == {}


def test_a_bundled_trial_deleted_with_or_without_its_record_is_run_again(clean_study, tmp_path):
    workdir = copy_of(clean_study, tmp_path)
    records = bundles(workdir)
    assert sorted(len(r) for r in records.values()) == [1, 2]
    single = next(name for name, r in records.items() if len(r) == 1)
    pair = next(name for name, r in records.items() if len(r) == 2)
    (alone,), (kept, gone) = list(records[single]), list(records[pair])
    # the docs' way: the trial directory and its bundle's record; and the trial directory only
    shutil.rmtree(workdir / "results" / "trials" / alone)
    (workdir / "results" / "hpo" / "bundles" / f"{single}.json").unlink()
    shutil.rmtree(workdir / "results" / "trials" / gone)
    untouched = {kept: trial_mtimes(workdir)[kept]}

    plan = planned_jobs(snakemake(workdir, workdir / "config.yaml", "hpo", "-n"))
    assert plan == {"train_bundle": 2, "aggregate_hpo": 1, "train_final": 1, "hpo": 1}
    snakemake(workdir, workdir / "config.yaml", "hpo")
    assert_restored(workdir, clean_study, untouched)
    assert bundles(workdir) == records  # both records again, every trial ok
    assert not list((workdir / "results" / "hpo" / "bundles").glob("*.done"))  # the stamps are temp()


def test_a_deleted_or_cut_short_trial_is_run_again(clean_study, tmp_path):
    workdir = copy_of(clean_study, tmp_path)
    # one job per trial from here on; by modification times only, the study is up to date (the
    # set of the aggregation's inputs changed, which Snakemake's other rerun triggers would see)
    write_config(workdir / "config.yaml", config(1))
    by_mtime = ("--rerun-triggers", "mtime")
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "hpo", "-n", *by_mtime)) == {}
    deleted, cut_short, kept = sorted(trial_mtimes(workdir))
    shutil.rmtree(workdir / "results" / "trials" / deleted)
    (workdir / "results" / "trials" / cut_short / "predictions.parquet").unlink()
    untouched = {kept: trial_mtimes(workdir)[kept]}

    dry = snakemake(workdir, workdir / "config.yaml", "hpo", "-n", *by_mtime)
    assert planned_jobs(dry) == {"train_trial": 2, "aggregate_hpo": 1, "train_final": 1, "hpo": 1}
    assert f"trial_id={deleted}" in dry.stdout and f"trial_id={cut_short}" in dry.stdout
    snakemake(workdir, workdir / "config.yaml", "hpo", *by_mtime)
    assert_restored(workdir, clean_study, untouched)
    # the default target (all) asks for the search's trials too
    shutil.rmtree(workdir / "results" / "trials" / deleted)
    assert planned_jobs(snakemake(workdir, workdir / "config.yaml", "-n"))["train_trial"] == 1
