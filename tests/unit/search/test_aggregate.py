"""Aggregation of hand-written trial directories into the HPO table and the best trial."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from candle_lib.errors import CandleInputError
from candle_lib.search.aggregate import (
    best_summary,
    best_trial,
    read_trial,
    trials_table,
)

ROLE = {"kind": "holdout", "train": ["train"], "eval": "val"}
DATA = "prep-0123abcd"
VARIED = ["learning_rate", "dense"]


def base_params(**changes) -> dict:
    # written in sorted key order, like candle_lib.atomic.write_json does
    params = {
        "batch_size": 32,
        "dense": [32],
        "dropout": 0.1,
        "epochs": 30,
        "learning_rate": 0.001,
        "optimizer": "adam",
    }
    params.update(changes)
    return params


def write_trial(root, trial_id, params, *, status="ok", metrics=None, epochs_run=30, wall_seconds=1.5, reason=None):
    d = root / trial_id
    d.mkdir(parents=True)
    (d / "params.json").write_text(json.dumps({"data": DATA, "params": params, "role": ROLE}, indent=2, sort_keys=True))
    (d / "metrics.json").write_text(
        json.dumps(
            {
                "status": status,
                "failure_reason": reason,
                "metrics": metrics if metrics is not None else {},
                "epochs_run": epochs_run,
                "wall_seconds": wall_seconds,
                "role": "holdout",
            },
            indent=2,
            sort_keys=True,
        )
    )
    for name in ("history.csv", "predictions.parquet", "scaler.json"):  # the aggregation reads none
        (d / name).write_text("")
    return d


@pytest.fixture
def four_trials(tmp_path):
    """a: ok loss 0.50 auc 0.80; b: failed (with a tempting loss); c: ok loss 0.30 auc 0.70;
    d: ok loss 0.40 auc 0.90."""
    return [
        write_trial(
            tmp_path,
            "aaaaaaaaaaaa",
            base_params(learning_rate=0.0005, dense=[32]),
            metrics={"val_loss": 0.50, "val_accuracy": 0.75, "val_auc": 0.80},
        ),
        write_trial(
            tmp_path,
            "bbbbbbbbbbbb",
            base_params(learning_rate=0.0005, dense=[64, 16]),
            status="failed",
            metrics={"val_loss": 0.01, "val_accuracy": 1.0, "val_auc": 1.0},
            epochs_run=3,
            reason="training stopped at the time limit (600 s)",
        ),
        write_trial(
            tmp_path,
            "cccccccccccc",
            base_params(learning_rate=0.002, dense=[32]),
            metrics={"val_loss": 0.30, "val_accuracy": 0.85, "val_auc": 0.70},
        ),
        write_trial(
            tmp_path,
            "dddddddddddd",
            base_params(learning_rate=0.002, dense=[64, 16]),
            metrics={"val_loss": 0.40, "val_accuracy": 0.80, "val_auc": 0.90},
        ),
    ]


# --------------------------------------------------------------------------- table


def test_one_row_per_trial_in_given_order(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    assert len(table) == 4
    assert list(table["trial_id"]) == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd"]
    assert list(table["order"]) == [0, 1, 2, 3]


def test_columns_searched_params_first(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    assert list(table.columns) == [
        "trial_id",
        "order",
        "learning_rate",
        "dense",
        "batch_size",
        "dropout",
        "epochs",
        "optimizer",
        "data",
        "status",
        "objective",
        # metrics in metrics.json order (written with sorted keys, like write_json)
        "val_accuracy",
        "val_auc",
        "val_loss",
        "epochs_run",
        "wall_seconds",
        "failure_reason",
    ]


def test_columns_without_varied_follow_params_order(four_trials):
    table = trials_table(four_trials, "val_loss")
    assert list(table.columns[:8]) == [
        "trial_id",
        "order",
        "batch_size",
        "dense",
        "dropout",
        "epochs",
        "learning_rate",
        "optimizer",
    ]


def test_cells_hold_the_hyperparameters(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    assert list(table["learning_rate"]) == [0.0005, 0.0005, 0.002, 0.002]
    # list values go into one cell as JSON text
    assert [json.loads(cell) for cell in table["dense"]] == [[32], [64, 16], [32], [64, 16]]
    assert list(table["batch_size"]) == [32, 32, 32, 32]
    assert list(table["optimizer"]) == ["adam"] * 4


def test_objective_is_the_configured_metric(four_trials):
    table = trials_table(four_trials, "val_auc", varied=VARIED)
    assert table.loc[0, "objective"] == 0.80
    assert table.loc[2, "objective"] == 0.70
    assert table.loc[3, "objective"] == 0.90


def test_failed_trial_has_empty_objective_and_its_reason(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    assert list(table["status"]) == ["ok", "failed", "ok", "ok"]
    assert pd.isna(table.loc[1, "objective"])
    assert [table.loc[i, "objective"] for i in (0, 2, 3)] == [0.50, 0.30, 0.40]
    assert table.loc[1, "failure_reason"] == "training stopped at the time limit (600 s)"
    assert table.loc[1, "epochs_run"] == 3
    assert all(pd.isna(table.loc[i, "failure_reason"]) for i in (0, 2, 3))
    assert list(table["wall_seconds"]) == [1.5] * 4


def test_failed_trial_without_metrics(tmp_path):
    dirs = [
        write_trial(tmp_path, "aaaaaaaaaaaa", base_params(), metrics={"val_loss": 0.5}),
        write_trial(
            tmp_path,
            "bbbbbbbbbbbb",
            base_params(dropout=0.4),
            status="failed",
            metrics={},
            epochs_run=0,
            reason="ValueError: boom",
        ),
    ]
    table = trials_table(dirs, "val_loss")
    assert len(table) == 2
    assert pd.isna(table.loc[1, "objective"])
    assert pd.isna(table.loc[1, "val_loss"])
    assert table.loc[1, "failure_reason"] == "ValueError: boom"


def test_unreadable_trial_names_the_directory(tmp_path):
    d = tmp_path / "eeeeeeeeeeee"
    d.mkdir()
    (d / "params.json").write_text("{not json")
    (d / "metrics.json").write_text("{}")
    with pytest.raises(CandleInputError, match="eeeeeeeeeeee"):
        trials_table([d], "val_loss")
    with pytest.raises(CandleInputError, match="ffffffffffff"):
        read_trial(tmp_path / "ffffffffffff")


def test_an_incomplete_or_deleted_trial_is_never_reported(tmp_path):
    d = write_trial(tmp_path, "aaaaaaaaaaaa", base_params(), metrics={"val_loss": 0.5})
    (d / "predictions.parquet").unlink()
    with pytest.raises(CandleInputError) as error:
        trials_table([d], "val_loss")
    assert str(error.value) == (
        f"{d}: trial directory lacks predictions.parquet: the trial is incomplete; run the workflow again to re-run it"
    )
    gone = tmp_path / "bbbbbbbbbbbb"
    with pytest.raises(
        CandleInputError, match=r"bbbbbbbbbbbb: trial directory does not exist: the trial is incomplete"
    ):
        trials_table([gone], "val_loss")


# --------------------------------------------------------------------------- best


def test_minimize_picks_the_lowest_ok_objective(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    best = best_trial(table, "minimize")
    assert best["trial_id"] == "cccccccccccc"  # 0.30; the failed trial's 0.01 is ignored
    assert best["objective"] == 0.30


def test_maximize_picks_the_highest_ok_objective(four_trials):
    table = trials_table(four_trials, "val_auc", varied=VARIED)
    best = best_trial(table, "maximize")
    assert best["trial_id"] == "dddddddddddd"  # 0.90; the failed trial's 1.0 is ignored
    assert best["objective"] == 0.90


def test_maximize_accuracy(four_trials):
    table = trials_table(four_trials, "val_accuracy", varied=VARIED)
    assert best_trial(table, "maximize")["trial_id"] == "cccccccccccc"  # 0.85
    assert best_trial(table, "minimize")["trial_id"] == "aaaaaaaaaaaa"  # 0.75


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_ties_go_to_the_earlier_trial(tmp_path, direction):
    dirs = [
        write_trial(tmp_path, "999999999999", base_params(dropout=0.2), metrics={"val_loss": 0.7}),
        write_trial(tmp_path, "555555555555", base_params(dropout=0.3), metrics={"val_loss": 0.4}),
        write_trial(tmp_path, "111111111111", base_params(dropout=0.4), metrics={"val_loss": 0.4}),
        write_trial(tmp_path, "000000000000", base_params(dropout=0.5), metrics={"val_loss": 0.7}),
    ]
    table = trials_table(dirs, "val_loss")
    expected = "555555555555" if direction == "minimize" else "999999999999"
    assert best_trial(table, direction)["trial_id"] == expected


def test_tie_with_an_earlier_failed_trial_goes_to_the_ok_one(tmp_path):
    dirs = [
        write_trial(tmp_path, "aaaaaaaaaaaa", base_params(), status="failed", metrics={"val_loss": 0.2}, reason="x"),
        write_trial(tmp_path, "bbbbbbbbbbbb", base_params(dropout=0.2), metrics={"val_loss": 0.2}),
    ]
    assert best_trial(trials_table(dirs, "val_loss"), "minimize")["trial_id"] == "bbbbbbbbbbbb"


def test_ok_trial_with_nan_objective_is_never_best(tmp_path):
    dirs = [
        write_trial(tmp_path, "aaaaaaaaaaaa", base_params(), metrics={"val_loss": float("nan")}),
        write_trial(tmp_path, "bbbbbbbbbbbb", base_params(dropout=0.2), metrics={"val_loss": 2.0}),
    ]
    table = trials_table(dirs, "val_loss")
    assert best_trial(table, "minimize")["trial_id"] == "bbbbbbbbbbbb"
    assert best_trial(table, "maximize")["trial_id"] == "bbbbbbbbbbbb"


def test_all_failed_raises(tmp_path):
    dirs = [
        write_trial(tmp_path, "aaaaaaaaaaaa", base_params(), status="failed", reason="NaN loss"),
        write_trial(
            tmp_path,
            "bbbbbbbbbbbb",
            base_params(dropout=0.2),
            status="failed",
            metrics={"val_loss": 0.1},
            reason="timeout",
        ),
    ]
    table = trials_table(dirs, "val_loss")
    assert table["objective"].isna().all()
    # the message names the reasons, most common first, so a wrong setting is seen at once
    with pytest.raises(
        CandleInputError, match=r"no trial finished with status ok \(2 failed\); 1 x NaN loss; 1 x timeout;"
    ):
        best_trial(table, "minimize")
    with pytest.raises(CandleInputError):
        best_summary(table, dirs, "val_loss", "minimize")


def test_bad_direction_raises_naming_the_key(four_trials):
    table = trials_table(four_trials, "val_loss")
    with pytest.raises(CandleInputError, match=r"hpo\.objective\.direction"):
        best_trial(table, "lowest")


# --------------------------------------------------------------------------- summary


def test_best_summary(four_trials):
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    summary = best_summary(table, four_trials, "val_loss", "minimize")
    assert summary == {
        "trial_id": "cccccccccccc",
        "objective": {"metric": "val_loss", "direction": "minimize", "value": 0.30},
        "params": base_params(learning_rate=0.002, dense=[32]),
        "data": DATA,
        "n_trials": 4,
        "n_ok": 3,
    }
    # the summary is JSON-writable as is (no numpy scalars)
    assert json.loads(json.dumps(summary)) == summary
    assert type(summary["objective"]["value"]) is float
    assert type(summary["trial_id"]) is str


def test_best_summary_maximize(four_trials):
    table = trials_table(four_trials, "val_auc", varied=VARIED)
    summary = best_summary(table, four_trials, "val_auc", "maximize")
    assert summary["trial_id"] == "dddddddddddd"
    assert summary["params"]["dense"] == [64, 16]  # the real list, not the table's JSON text
    assert math.isclose(summary["objective"]["value"], 0.90)


def test_table_is_rebuildable(four_trials):
    first = trials_table(four_trials, "val_loss", varied=VARIED)
    again = trials_table(four_trials, "val_loss", varied=VARIED)
    pd.testing.assert_frame_equal(first, again)


def test_searched_data_options_are_columns_of_their_variant(tmp_path):
    dirs = [write_trial(tmp_path, "eeeeeeeeeeee", base_params(), metrics={"val_loss": 0.2})]
    columns = {DATA: {"data.normalization": "tpm", "data.filters.top_variance": 500}}
    table = trials_table(
        dirs,
        "val_loss",
        varied=["data.normalization", "learning_rate", "data.filters.top_variance"],
        data_columns=columns,
    )
    assert list(table.columns[:5]) == [
        "trial_id",
        "order",
        "data.normalization",
        "learning_rate",
        "data.filters.top_variance",
    ]
    assert table.loc[0, "data.normalization"] == "tpm" and table.loc[0, "data.filters.top_variance"] == 500
    assert table.loc[0, "data"] == DATA


def test_search_plots_one_per_searched_name(four_trials, tmp_path):
    from candle_lib.search.plots import best_so_far, write_search_plots

    assert list(best_so_far(pd.Series([0.5, 0.3, 0.4, 0.1]), "minimize")) == [0.5, 0.3, 0.3, 0.1]
    assert list(best_so_far(pd.Series([0.5, 0.3, 0.7, 0.1]), "maximize")) == [0.5, 0.5, 0.7, 0.7]
    table = trials_table(four_trials, "val_loss", varied=VARIED)
    written = write_search_plots(table, VARIED, "val_loss", "minimize", tmp_path / "plots")
    assert [p.name for p in written] == [
        "objective_by_trial.png",
        "objective_by_learning_rate.png",
        "objective_by_dense.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
