"""The study planner (candle_lib.study): every target's trials from a config, and the trials
known only once an earlier step has written its file (Bayesian rounds, the search's best, the
TDA groups, saved models to serve). Expected ids are built here from trial_spec/trial_id and
the role constants, independently of the planner's own code paths."""

from __future__ import annotations

import json
import os

import pytest
from conftest import tiny_config

from candle_lib.config import validate_config
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.search.data_variants import prep_id
from candle_lib.search.upf import upf_rows, write_upf
from candle_lib.study import StudyPlan
from candle_lib.trial.spec import HOLDOUT, MEMBER, fold_role, trial_id, trial_spec


def plan_of(tmp_path, **overrides) -> StudyPlan:
    return StudyPlan(validate_config(tiny_config(**overrides)), tmp_path / "results")


def ids_of(params_list, role, prep):
    return [trial_id(trial_spec(p, role=role, data=prep)) for p in params_list]


def test_every_target_of_the_config_is_planned_and_a_shared_training_is_one_trial(tmp_path):
    plan = plan_of(tmp_path)
    config = plan.config
    prep = prep_id(config["data"])
    base = resolve_params(config["model"], where="model")
    hpo = ids_of([{**base, "learning_rate": lr} for lr in (0.001, 0.01)], HOLDOUT, prep)
    uq = ids_of([{**base, "rng_seed": base["rng_seed"] + m} for m in range(5)], MEMBER, prep)
    cv = [trial_id(trial_spec(base, role=fold_role(k), data=prep)) for k in range(3)]
    assert plan.prep_id == prep
    assert list(plan.hpo_trials) == hpo
    assert [m["trial_id"] for m in plan.uq.members] == uq
    assert plan.cv_trial_ids() == cv
    # training-data analysis: the noise curve's 0-noise point is UQ's first member
    noise_ids = {point["trial"] for point in plan.tda_points("noise")}
    assert uq[0] in noise_ids
    assert set(hpo) | set(uq) | set(cv) <= set(plan.trials)
    assert plan.counts() == {"hpo": 2, "cv": 3, "uq": 5, "tda": 7, "distinct": 2 + 3 + 5 + 7 - 1}
    assert plan.spec(cv[1])["role"] == fold_role(1)
    with pytest.raises(KeyError, match="not part of the configured workflows"):
        plan.spec("0123456789ab")


def test_bundles_chunk_the_search_only(tmp_path):
    plan = plan_of(tmp_path, hpo={"space": {"learning_rate": [0.001, 0.01, 0.1]}, "trials_per_job": 2})
    members = [ids for ids in plan.bundles.values()]
    assert sorted(len(ids) for ids in members) == [1, 2]
    assert sorted(tid for ids in members for tid in ids) == sorted(plan.hpo_trials)


def test_bayesian_rounds_are_read_from_their_files_and_re_read_when_they_change(tmp_path):
    from candle_lib.search.rounds import plan_round

    space = {"learning_rate": {"type": "log", "low": 0.0001, "high": 0.1}}
    plan = plan_of(tmp_path, hpo={"method": "bayesian", "space": space, "bayesian": {"rounds": 2, "per_round": 2}})
    assert plan.hpo_trials == {} and plan.round_trials() == {}
    first = plan_round(plan.config, 0, [])
    plan.rounds_dir.mkdir(parents=True)
    write_upf(plan.round_file(0), upf_rows(first.points))
    assert plan.round_trials() == first.trials
    assert plan.round_ids(0) == list(first.trials)
    tid = next(iter(first.trials))
    assert plan.spec(tid) == first.trials[tid]
    # a second round, and a rewritten first round, are seen without a new planner
    second = plan_round(plan.config, 1, [(first.points[t], 0.5) for t in first.trials])
    write_upf(plan.round_file(1), upf_rows(second.points))
    assert plan.round_trials() == {**first.trials, **second.trials}
    write_upf(plan.round_file(0), upf_rows({t: first.points[t] for t in list(first.trials)[:1]}))
    stat = plan.round_file(0).stat()
    os.utime(plan.round_file(0), ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert plan.round_ids(0) == [tid]


def test_cv_of_the_best_is_known_once_best_json_exists(tmp_path):
    plan = plan_of(tmp_path, cv={"params": "best", "overrides": {"epochs": 2}})
    assert plan.cv_trial_ids() == [] and plan.best() is None
    best_params = {**resolve_params(plan.config["model"], where="model"), "learning_rate": 0.01}
    plan.best_file.parent.mkdir(parents=True)
    plan.best_file.write_text(json.dumps({"params": best_params, "data": plan.prep_id}))
    expected = [
        trial_id(trial_spec({**best_params, "epochs": 2}, role=fold_role(k), data=plan.prep_id)) for k in range(3)
    ]
    assert plan.cv_trial_ids() == expected
    assert plan.spec(expected[2])["params"]["epochs"] == 2


def test_group_analyses_join_once_the_groups_are_written(tmp_path):
    data = {"synthetic": {"n_studies": 3}, "splits": {"logo_column": "study"}}
    plan = plan_of(tmp_path, data=data, tda={"analyses": ["group_matrix"]})
    assert plan.tda_group_plan() == {} and plan.counts()["tda"] == 0
    plan.tda_groups_file.parent.mkdir(parents=True)
    plan.tda_groups_file.write_text(json.dumps({"groups": ["A", "B", "C"]}))
    points = plan.tda_points("group_matrix")
    # a model per group, one per leave-one-group-out, and one of all groups
    assert len({point["trial"] for point in points}) == 3 + 3 + 1
    assert all(plan.spec(point["trial"]) for point in points)


def test_saved_models_to_serve_join_from_their_params_and_a_mismatch_is_refused(tmp_path):
    plan = plan_of(tmp_path)
    spec = trial_spec({**plan.uq.params, "rng_seed": 11}, role=MEMBER, data=plan.prep_id)
    tid = trial_id(spec)
    (plan.results / "trials" / tid).mkdir(parents=True)
    (plan.results / "trials" / tid / "params.json").write_text(json.dumps(spec))
    assert plan.saved_trials(["final", tid, "fedcba987654"]) == {tid: spec}
    wrong = plan.results / "trials" / "aaaaaaaaaaaa"
    wrong.mkdir()
    (wrong / "params.json").write_text(json.dumps(spec))
    with pytest.raises(CandleInputError, match=f"describes trial {tid}"):
        plan.saved_trials(["aaaaaaaaaaaa"])


def test_a_data_search_names_its_variants_in_the_trials_table_columns(tmp_path):
    plan = plan_of(tmp_path, hpo={"space": {"data.transform": ["log2p1", "none"]}})
    assert plan.searched_keys() == ["data.transform"]
    # the base config's variant is the search's log2p1 one
    assert sorted(row["data.transform"] for row in plan.data_columns().values()) == ["log2p1", "none"]
    assert plan.search_plot_names()[0] == "objective_by_trial.png"
