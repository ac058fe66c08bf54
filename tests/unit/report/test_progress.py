"""The study summary of `candle status` on hand-made trial directories, with file times set by
hand so that every count, rate and time left is known exactly."""

from __future__ import annotations

import json
import os

import pytest
from conftest import tiny_config

from candle_lib.cli.commands import main
from candle_lib.report.progress import (
    busy_seconds,
    format_status,
    planned_trials,
    summarize_study,
)

NOW = 10_000.0
IDS = {name: name * 12 for name in "abcdefg8"}  # a: ok, b: ok (best), c: failed, d: running, e: stalled


def _touch(path, mtime):
    os.utime(path, (mtime, mtime))


def _write(path, obj, mtime):
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    _touch(path, mtime)


def _trial(root, key, *, lr, dropout=0.1, started, metrics=None, finished=None, log="", last=None):
    d = root / "trials" / IDS[key]
    d.mkdir(parents=True)
    spec = {
        "params": {"learning_rate": lr, "dropout": dropout, "epochs": 3},
        "role": {"kind": "holdout"},
        "data": "prep-00000000",
    }
    _write(d / "params.json", spec, started)
    newest = started
    if log:
        _write(d / "trial.log", log, last)
        newest = last
    if metrics is not None:
        _write(d / "metrics.json", metrics, finished)
        newest = finished
    _touch(d, newest)
    return d


def _metrics(status, loss, accuracy, wall, reason=None):
    return {
        "status": status,
        "failure_reason": reason,
        "objective": {"metric": "val_loss", "direction": "minimize", "value": loss},
        "metrics": {} if status != "ok" else {"val_loss": loss, "val_accuracy": accuracy},
        "epochs_run": 3,
        "wall_seconds": wall,
        "role": "holdout",
    }


@pytest.fixture
def study(tmp_path):
    root = tmp_path / "results"
    _trial(root, "a", lr=0.01, started=9000, metrics=_metrics("ok", 0.5, 0.75, 10.0), finished=9010)
    _trial(root, "b", lr=0.001, started=9015, metrics=_metrics("ok", 0.3, 0.70, 20.0), finished=9030)
    _trial(
        root,
        "c",
        lr=1.0,
        dropout=0.4,
        started=9090,
        metrics=_metrics("failed", None, None, 5.0, "diverged: loss is NaN at epoch 2"),
        finished=9100,
    )
    _trial(
        root,
        "d",
        lr=0.1,
        started=9090,
        log="trial: 30 rows\nepoch 1/3 loss=0.6\nepoch 2/3 loss=0.5 val_loss=0.55\n",
        last=9120,
    )
    _trial(root, "e", lr=0.2, started=100, log="trial: 30 rows\n", last=200)
    (root / "trials" / "not-a-trial").mkdir()
    f = root / "trials" / IDS["f"]  # just created by Snakemake: no file yet, so running
    f.mkdir()
    _touch(f, 9125)
    return root


# busy intervals: a (9000, 9010), b (9010, 9030), c (9095, 9100), d (9090, 9120), e (100, 200)
# f (9125, 9125); union: 9000-9030 (30 s) + 9090-9120 (30 s) + 100-200 (100 s) = 160 s;
# 3 done -> 3/160 per s
BUSY = 160.0
RATE_PER_HOUR = 3 / 160 * 3600  # 67.5


def test_busy_time_is_the_union_of_intervals():
    assert busy_seconds([(0, 10), (5, 15), (20, 30), (21, 22), (40, 40)]) == 25
    assert busy_seconds([]) == 0
    assert busy_seconds([(3, 1), (None, 5)]) == 0  # reversed or unknown intervals are ignored


def test_summary_counts_best_rate_and_time_left(study):
    planned = [IDS[k] for k in "abcdefg"]  # g not started
    (study / "trials" / ("9" * 12)).mkdir()  # a trial directory of another search
    s = summarize_study(
        study, objective={"metric": "val_loss", "direction": "minimize"}, planned=planned, now=NOW, stale_after=900
    )
    assert s["counts"] == {
        "ok": 2,
        "failed": 1,
        "running": 2,
        "stalled": 1,
        "done": 3,
        "total": 7,
        "pending": 1,
        "other": 1,
    }
    assert s["best"] == {"trial_id": IDS["b"], "value": 0.3, "params": {"learning_rate": 0.001, "dropout": 0.1}}
    assert s["varied"] == ["learning_rate", "dropout"]
    assert s["busy_seconds"] == pytest.approx(BUSY)
    assert s["rate_per_hour"] == pytest.approx(RATE_PER_HOUR)
    assert s["eta_seconds"] == pytest.approx(4 / (3 / 160))  # 4 not done (d, e, f, g): 213.33 s
    assert [(h["trial_id"], h["objective"], h["best"]) for h in s["history"]] == [
        (IDS["a"], 0.5, 0.5),
        (IDS["b"], 0.3, 0.3),
        (IDS["c"], None, 0.3),
    ]
    assert [t["trial_id"] for t in s["slowest"]] == [IDS["b"], IDS["a"], IDS["c"]]
    assert [(t["trial_id"], t["failure_reason"]) for t in s["failed"]] == [
        (IDS["c"], "diverged: loss is NaN at epoch 2")
    ]
    running = {t["trial_id"]: t for t in s["running"]}
    assert running[IDS["d"]]["state"] == "running" and running[IDS["d"]]["epoch"] == "2/3"
    assert running[IDS["d"]]["wall_seconds"] == 30.0 and running[IDS["d"]]["last_activity"] == 9120
    assert running[IDS["e"]]["state"] == "stalled" and running[IDS["e"]]["epoch"] is None
    assert running[IDS["f"]]["state"] == "running" and running[IDS["f"]]["params"] == {
        "learning_rate": None,
        "dropout": None,
    }
    assert [t["trial_id"] for t in s["trials"]] == [IDS[k] for k in "abcdfe"]


def test_maximized_objective_picks_the_highest(study):
    s = summarize_study(study, objective={"metric": "val_accuracy", "direction": "maximize"}, now=NOW)
    assert s["best"]["trial_id"] == IDS["a"] and s["best"]["value"] == 0.75
    assert [h["best"] for h in s["history"]] == [0.75, 0.75, 0.75]
    # without a plan every trial directory counts and the total is unknown
    assert s["counts"]["total"] is None and s["counts"]["pending"] is None and s["eta_seconds"] is None
    assert s["counts"]["stalled"] == 1  # default stale_after 900 s: 10,000 - 200 > 900


def test_searched_dimensions_name_the_columns(study):
    """With a config, the columns are the searched dimensions, also before they differ."""
    s = summarize_study(study, varied=["dropout", "data.normalization", "data.features"], now=NOW)
    assert s["varied"] == ["dropout", "data"]
    assert s["best"]["params"] == {"dropout": 0.1, "data": "prep-00000000"}


def test_trials_of_other_workflows_are_counted_by_role_but_never_best(study):
    """A CV fold with a lower loss is not the search's best; with a plan it is 'other'."""
    fold = _trial(study, "8", lr=0.5, started=9200, metrics=_metrics("ok", 0.01, 0.99, 3.0), finished=9203)
    spec = json.loads((fold / "params.json").read_text())
    _write(fold / "params.json", {**spec, "role": {"kind": "fold", "fold": 0}}, 9200)
    s = summarize_study(study, now=NOW)
    assert s["best"]["trial_id"] == IDS["b"]
    assert [h["trial_id"] for h in s["history"]] == [IDS["a"], IDS["b"], IDS["c"]]  # the search's own
    assert s["counts"]["done"] == 4  # every trial directory counts without a plan
    assert s["roles"] == {
        "fold": {"ok": 1},
        "holdout": {"failed": 1, "ok": 2, "running": 1, "stalled": 1},
        "starting": {"running": 1},
    }
    planned = summarize_study(study, planned=[IDS[k] for k in "abcdef"], now=NOW)
    assert planned["counts"]["other"] == 1 and planned["counts"]["done"] == 3
    # roles cover every directory; states from metrics.json alone (no stalled check)
    assert planned["roles"] == {
        "fold": {"ok": 1},
        "holdout": {"failed": 1, "ok": 2, "running": 2},
        "starting": {"running": 1},
    }
    assert (
        "all trial directories by role: fold 1 ok, holdout 1 failed/2 ok/2 running, starting 1 running"
        in format_status(planned)
    )


def test_objective_comes_from_the_trials_without_a_config(study):
    s = summarize_study(study, now=NOW)
    assert s["objective"] == {"metric": "val_loss", "direction": "minimize"}
    assert s["best"]["trial_id"] == IDS["b"]


def test_status_text(study):
    planned = [IDS[k] for k in "abcdefg"]
    s = summarize_study(study, objective={"metric": "val_loss", "direction": "minimize"}, planned=planned, now=NOW)
    text = format_status(s).splitlines()
    assert text[0] == f"study {study}: objective val_loss (minimize)"
    assert text[1] == "trials: 3 of 7 done (2 ok, 1 failed), 2 running, 1 stalled, 1 pending"
    assert text[2] == f"best so far: val_loss=0.3  trial {IDS['b']}  learning_rate=0.001, dropout=0.1"
    assert text[3] == "rate: 67.5 trials/h over 2.7 min of running time; time left: 3.6 min"
    assert text[4:8] == [
        "slowest:",
        f"  {IDS['b']}     20.0 s  ok      learning_rate=0.001, dropout=0.1",
        f"  {IDS['a']}     10.0 s  ok      learning_rate=0.01, dropout=0.1",
        f"  {IDS['c']}      5.0 s  failed  learning_rate=1.0, dropout=0.4",
    ]
    assert text[8] == "running:"
    assert text[9] == f"  {IDS['d']}  epoch 2/3, last activity 14.7 min ago"
    assert text[10].startswith(f"  {IDS['e']}  starting, last activity 2.7 h ago STALLED")
    assert text[11] == f"  {IDS['f']}  starting, last activity 14.6 min ago"
    assert text[12:] == ["failed (1):", f"  {IDS['c']}  diverged: loss is NaN at epoch 2"]


def test_status_command_with_a_config_counts_the_planned_trials(tmp_path, capsys):
    """The planned ids are the workflow's own (plan_search of the validated config)."""
    import yaml

    from candle_lib.config import validate_config

    config = tiny_config()
    ids = planned_trials(validate_config(config))
    assert len(ids) == 2
    root = tmp_path / "results"
    for trial_id, loss in zip(ids, (0.4, 0.2)):
        d = root / "trials" / trial_id
        d.mkdir(parents=True)
        (d / "params.json").write_text(json.dumps({"params": {"learning_rate": loss}, "data": "prep-0"}))
        (d / "metrics.json").write_text(json.dumps(_metrics("ok", loss, 0.9, 2.0)))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["status", str(root), "--config", str(tmp_path / "config.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "trials: 2 of 2 done (2 ok, 0 failed), 0 running, 0 pending"
    assert out[2] == f"best so far: val_loss=0.2  trial {ids[1]}  learning_rate=0.2"
    assert out[3].endswith("time left: done")
    assert main(["status", str(root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"]["done"] == 2 and summary["counts"]["total"] is None


def test_status_of_a_missing_folder_is_one_clear_error(tmp_path, capsys):
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert "no such results folder" in capsys.readouterr().err
