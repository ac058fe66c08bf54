"""The 11,664-case grid of the CANDLE slides (config/examples/hpo_grid_11664.yaml): exact counts,
27 prepared-data variants shared by 432 trials each, and planning in about a second."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from candle_lib.search.methods import plan_search, prep_id
from candle_lib.trial.spec import trial_id

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "config" / "examples" / "hpo_grid_11664.yaml"


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def planned(config):
    started = time.perf_counter()
    plan = plan_search(config)
    return plan, time.perf_counter() - started


def test_the_grid_has_11664_trials_on_27_prepared_variants(planned):
    plan, _ = planned
    assert len(plan.trials) == 11_664 == 3 * 3 * 3 * (4 * 3) * 3 * 3 * 4
    assert len(plan.variants) == 27
    assert Counter(spec["data"] for spec in plan.trials.values()) == {pid: 432 for pid in plan.variants}


def test_each_variant_is_one_preparation_combination(config, planned):
    plan, _ = planned
    combos = {(d["normalization"], d["features"], d["filters"]["min_nonzero_samples"]) for d in plan.variants.values()}
    assert combos == {
        (n, f, s)
        for n in ("standard_deviation", "tanh", "sqrt")
        for f in ("descriptors", "similarities", "ecfp4")
        for s in (5, 10, 20)
    }
    for pid, data in plan.variants.items():
        assert prep_id(data) == pid
        assert {k: v for k, v in data.items() if k not in ("normalization", "features", "filters")} == {
            k: v for k, v in config["data"].items() if k not in ("normalization", "features", "filters")
        }


def test_the_hyperparameters_cover_the_slide(planned):
    plan, _ = planned
    params = [spec["params"] for spec in plan.trials.values()]
    assert {tuple(p["dense"]) for p in params} == {(u,) * k for u in (1024, 4096, 8192, 16356) for k in (1, 2, 3)}
    assert {p["learning_rate"] for p in params} == {0.01, 0.05, 0.1}
    assert {(p["dropout"], p["input_dropout"]) for p in params} == {(0.0, 0.0), (0.5, 0.0), (0.5, 0.2)}
    assert {p["l2"] for p in params} == {0.0, 1e-6, 1e-5, 1e-4}
    assert {p["model"] for p in params} == {"dense"}


def test_ids_are_the_content_hashes_of_their_specs(planned):
    plan, _ = planned
    items = list(plan.trials.items())
    assert all(trial_id(spec) == tid for tid, spec in items[::37])


def test_planning_takes_about_a_second(planned):
    _, seconds = planned
    print(f"planned 11,664 trials in {seconds:.2f} s")
    assert seconds < 3.0
