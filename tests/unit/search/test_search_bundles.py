"""Bundles of trials (hpo.trials_per_job) and the specs of written Bayesian rounds."""

from __future__ import annotations

import os

import pytest
from conftest import tiny_config

from candle_lib.errors import CandleInputError
from candle_lib.search.bundles import bundle_id, is_finished, make_bundles
from candle_lib.search.methods import plan_search
from candle_lib.search.rounds import round_trials
from candle_lib.search.upf import upf_rows

TRIALS = {f"t{i}": {"data": "prep-a" if i < 5 else "prep-b"} for i in range(8)}


def test_bundles_are_fixed_chunks_of_one_variant_in_search_order():
    bundles = make_bundles(TRIALS, 2)
    assert list(bundles.values()) == [["t0", "t1"], ["t2", "t3"], ["t4"], ["t5", "t6"], ["t7"]]
    assert list(bundles) == [bundle_id(members) for members in bundles.values()]
    assert make_bundles(TRIALS, 2) == bundles  # the same search always makes the same bundles
    assert list(make_bundles(TRIALS, 10).values()) == [["t0", "t1", "t2", "t3", "t4"], ["t5", "t6", "t7"]]
    with pytest.raises(ValueError):
        make_bundles(TRIALS, 0)


def test_a_trial_is_finished_when_it_holds_every_file_and_its_metrics_are_newer_than_its_data(tmp_path):
    trial, manifest = tmp_path / "t", tmp_path / "manifest.json"
    trial.mkdir()
    assert not is_finished(trial, manifest)
    (trial / "metrics.json").write_text("{}")
    assert not is_finished(trial, manifest)  # metrics alone: the trial was cut short
    for name in ("params.json", "history.csv", "predictions.parquet", "scaler.json"):
        (trial / name).write_text("")
    assert is_finished(trial, manifest)  # no prepared data yet to compare with
    manifest.write_text("{}")
    os.utime(manifest, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    os.utime(trial / "metrics.json", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert not is_finished(trial, manifest)  # the data changed after the trial ran


def test_round_trials_recompute_the_ids_of_written_rounds():
    config = tiny_config(hpo={"method": "grid", "space": {"learning_rate": [0.001, 0.01], "dropout": [0.0, 0.2]}})
    plan = plan_search(config)
    rows = upf_rows(plan.points)
    assert round_trials(config, [rows[:2], rows[2:]]) == plan.trials
    forged = [dict(rows[0], id=rows[1]["id"])]
    with pytest.raises(CandleInputError, match="plans to trial"):
        round_trials(config, [forged])
