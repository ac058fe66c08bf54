"""The trials of training-data analysis: content-addressed ids shared where the training is the
same (with UQ's plain member too), the roles of each analysis, and the config checks."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from conftest import REPO, tiny_config

from candle_lib.config import validate_config
from candle_lib.data.split_methods import fractional_subsamples
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import resolve_params
from candle_lib.tda import design
from candle_lib.tda.groups import usable_groups
from candle_lib.tda.options import analyses, metric_of
from candle_lib.tda.plan import plan_trials, tda_plan
from candle_lib.trial.roles import role_rows
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec

SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"
PARAMS = resolve_params({"epochs": 2})
PREP = "prep-00000000"
PLAIN = trial_id(trial_spec(PARAMS, role=MEMBER, data=PREP))


def studies_config(**tda):
    config = tiny_config(
        data={
            "synthetic": {"n_studies": 3},
            "splits": {"subsample_fractions": [0.25, 0.5], "subsample_repeats": 2, "logo_column": "study"},
        },
        tda=tda,
    )
    return validate_config(config, SCHEMA)


def test_full_training_set_and_zero_noise_are_the_plain_member():
    curve, curve_specs = design.learning_curve_points(PARAMS, PREP, [0.5, 1.0], 3)
    noise, _ = design.noise_points(PARAMS, PREP, [0.0, 0.2], [0.0, 1.0], 2)
    assert [p["trial"] for p in curve if p["fraction"] == 1.0] == [PLAIN]
    assert [p["trial"] for p in noise if p["level"] == 0.0] == [PLAIN, PLAIN]
    assert curve_specs[PLAIN]["role"] == MEMBER
    assert len(curve) == 4 and len({p["trial"] for p in curve}) == 4  # three draws of 0.5, then 1.0
    assert len(noise) == 6 and len({p["trial"] for p in noise}) == 5
    noisy = [p for p in noise if p["noise"] == "label" and p["level"] == 0.2]
    assert [p["seed"] for p in noisy] == [0, 1]


def test_subsample_column_names_are_the_split_tables():
    table = pd.DataFrame({"sample_id": [f"s{i}" for i in range(20)], "split": ["train"] * 16 + ["test"] * 4})
    made = fractional_subsamples(table, [0.1, 0.25, 0.5], 2, seed=0)
    assert {design.subsample_column(f, r) for f in (0.1, 0.25, 0.5) for r in (0, 1)} <= set(made.columns)


def test_group_matrix_has_group_leave_one_out_and_all_models():
    points, specs = design.group_matrix_points(PARAMS, PREP, ["A", "B", "C"])
    assert [p["train"] for p in points] == ["A", "B", "C", "all but A", "all but B", "all but C", "all"]
    roles = {p["train"]: specs[p["trial"]]["role"] for p in points}
    assert roles["A"]["train_groups"] == ["A"] and roles["A"]["eval_groups"] == ["A"] and roles["A"]["save_model"]
    assert roles["all but B"]["train_groups"] == ["A", "C"] and roles["all but B"]["kind"] == "logo"
    assert roles["all"] == MEMBER and points[-1]["trial"] == PLAIN
    two, _ = design.group_matrix_points(PARAMS, PREP, ["A", "B"])
    assert [p["train"] for p in two] == ["A", "B", "all"]


def test_group_model_rows_train_on_its_group_and_predict_every_groups_test_rows():
    samples = pd.DataFrame(
        {
            "split": ["train", "train", "val", "val", "test", "test"],
            "logo_group": ["A", "B", "A", "B", "A", "B"],
        }
    )
    rows = role_rows(samples, design.group_role(["A"]))
    assert rows.train.tolist() == [0] and rows.eval.tolist() == [2] and rows.extra["test"].tolist() == [4, 5]


def test_transfer_fine_tunes_the_group_model_and_compares_with_scratch_on_the_same_rows():
    points, specs = design.transfer_points(PARAMS, PREP, [("A", "B")], [0.5, 1.0], 2)
    group, _ = design.group_matrix_points(PARAMS, PREP, ["A", "B"])
    model_of = {p["train"]: p["trial"] for p in group}
    assert [(p["fraction"], p["repeat"], p["start"]) for p in points] == [
        (0.0, 0, "source only"),
        (0.5, 0, "fine-tuned"),
        (0.5, 0, "scratch"),
        (0.5, 1, "fine-tuned"),
        (0.5, 1, "scratch"),
        (1.0, 0, "fine-tuned"),
        (1.0, 0, "scratch"),
    ]
    assert points[0]["trial"] == model_of["A"]
    tuned, scratch = specs[points[1]["trial"]]["role"], specs[points[2]["trial"]]["role"]
    assert tuned["init"] == model_of["A"] and "init" not in scratch
    assert tuned["subsample"] == scratch["subsample"] == "subsample_f0.5_r0"
    assert tuned["train_groups"] == scratch["train_groups"] == ["B"]
    assert points[-1]["trial"] == model_of["B"]  # from scratch on all of B: the group model


def test_representation_is_a_p1b1_trial_with_its_own_overrides():
    points, specs = design.representation_points({"model": "nt3", "epochs": 5}, PREP, {"latent_dim": 4}, {"epochs": 2})
    params = specs[points[0]["trial"]]["params"]
    assert (params["model"], params["latent_dim"], params["epochs"], points[0]["latent_dim"]) == ("p1b1", 4, 2, 4)
    assert specs[points[0]["trial"]]["role"] == {**MEMBER, "save_model": True}


def test_representation_leaves_out_the_settings_of_an_out_of_process_model():
    command = {"model": "command", "command": "python train.py", "interpreter": "python3", "environment": ["A=1"]}
    points, specs = design.representation_points(command, PREP, {}, {})
    params = specs[points[0]["trial"]]["params"]
    assert params["model"] == "p1b1" and not {"command", "interpreter", "environment"} & set(params)
    plain, _ = design.representation_points({"model": "nt3"}, PREP, {}, {})
    assert points[0]["trial"] == plain[0]["trial"]


def test_analyses_follow_the_data_config():
    assert analyses(validate_config(tiny_config(), SCHEMA)) == ["representation", "noise"]
    assert analyses(studies_config()) == ["learning_curve", "group_matrix", "transfer", "representation", "noise"]
    assert metric_of(studies_config()) == "accuracy"
    with pytest.raises(CandleInputError, match="tda.analyses.*group_matrix.*logo_column"):
        analyses(validate_config(tiny_config(tda={"analyses": ["group_matrix"]}), SCHEMA))


def test_plan_registers_every_trial_once_and_checks_fractions():
    config = studies_config(transfer={"pairs": [["STUDY1", "STUDY2"]], "fractions": [0.25]})
    plan = tda_plan(config, PREP)
    assert "group_matrix" not in plan  # the groups come from the prepared data
    grouped = tda_plan(config, PREP, ["STUDY1", "STUDY2", "STUDY3"])
    trials = plan_trials(grouped)
    # the curve's draws 2 x 2 + plain, noise 3 label + 2 feature levels, the autoencoder,
    # 3 group + 3 leave-one-out models, transfer fine-tuned + scratch at one fraction
    assert len(trials) == 5 + 5 + 1 + 6 + 2
    with pytest.raises(CandleInputError, match="tda.learning_curve.fractions.*0.3"):
        tda_plan(studies_config(learning_curve={"fractions": [0.3]}), PREP)
    with pytest.raises(CandleInputError, match="tda.learning_curve.repeats"):
        tda_plan(studies_config(learning_curve={"repeats": 5}), PREP)
    with pytest.raises(CandleInputError, match="tda.transfer.pairs"):
        tda_plan(studies_config(transfer={"pairs": [["STUDY1", "STUDY9"]]}), PREP, ["STUDY1", "STUDY2"])


def test_usable_groups_need_train_val_and_test_rows():
    samples = pd.DataFrame(
        {
            "split": ["train", "val", "test", "train", "val", "train", "val", "test"],
            "logo_group": ["A", "A", "A", "B", "B", "C", "C", "C"],
        }
    )
    groups, left_out = usable_groups(samples)
    assert groups == ["A", "C"] and left_out == {"B": "no test rows"}
    assert usable_groups(samples, ["C", "A"])[0] == ["C", "A"]
    with pytest.raises(CandleInputError, match="'B' has no test rows"):
        usable_groups(samples, ["B"])
    with pytest.raises(CandleInputError, match="'Z' is not in the data"):
        usable_groups(samples, ["Z"])
    with pytest.raises(CandleInputError, match="logo_column"):
        usable_groups(copy.deepcopy(samples).drop(columns="logo_group"))
