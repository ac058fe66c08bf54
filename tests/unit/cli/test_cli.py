"""The ``candle`` command: ``params`` in-process, ``trial`` through ``python -m candle_lib`` on a
tiny prepared dataset. Expected trial ids are computed here with hashlib and json directly."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import NT3_DEFAULTS, REPO

from candle_lib.cli import commands as cli

DATA = Path(__file__).resolve().parents[2] / "data"  # tests/data
NT3_INI = DATA / "nt3_default_model.txt"
P1B1_INI = DATA / "p1b1_default_model.txt"
TINY_CONV = ["--set", "conv=[4, 5, 1]", "--set", "pool=[2]", "--set", "dense=[8]", "--set", "epochs=2"]
HOLDOUT = {"kind": "holdout", "train": ["train"], "eval": "val"}
FINAL = {"kind": "final", "train": ["train", "val"], "eval": "test"}


def expected_trial_id(params: dict, role: dict, data: str) -> str:
    text = json.dumps({"params": params, "role": role, "data": data}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def candle(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "candle_lib", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )


# --------------------------------------------------------------------------- candle params


def test_params_prints_the_resolved_json(capsys):
    code = cli.main(["params", "--params", str(NT3_INI), "--set", "epochs=3", "--set", "drop=0.2"])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == {**NT3_DEFAULTS, "epochs": 3, "dropout": 0.2}
    assert err.splitlines() == [
        "candle: warning: 15 CANDLE keys ignored (no effect here: data_url, train_data, test_data, metrics, classes, "
        "output_dir, add_noise, label_noise, noise_correlated, feature_col, feature_threshold, noise_gaussian, std_dev, "
        "restart, ckpt_checksum)"
    ]


def test_params_without_a_file_are_the_defaults(capsys):
    assert cli.main(["params"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == NT3_DEFAULTS
    assert err == ""


def test_params_from_p1b1(capsys):
    assert cli.main(["params", "--params", str(P1B1_INI), "--set", "model=vae"]) == 0
    params = json.loads(capsys.readouterr().out)
    assert params == {
        **NT3_DEFAULTS,
        "model": "p1b1",
        "vae": True,
        "dense": [2000, 600],
        "batch_size": 100,
        "epochs": 100,
        "loss": "mse",
        "optimizer": "adam",
        "dropout": 0.0,
        "scaling": "minmax",
        "rng_seed": 2017,
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["params", "--params", "missing.txt"],
            "candle: error: missing.txt: cannot read CANDLE parameter file: No such file or directory",
        ),
        (
            ["params", "--set", "epochs=0"],
            "candle: error: --set: epochs: 0 is outside [1, inf] (maximum number of epochs)",
        ),
        (
            ["params", "--set", "epochs=__import__('os')"],
            "candle: error: --set: epochs: \"__import__('os')\" is neither a Python literal",
        ),
        (
            ["trial", "--data", "no/such/prep-1", "--out", "out"],
            "candle: error: no/such/prep-1: no such prepared dataset directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_unknown_ini_key_through_the_command_line(tmp_path, capsys):
    path = tmp_path / "x_default_model.txt"
    path.write_text("[Global_Params]\nepochs = 3\nwarmup = 1\n")
    assert cli.main(["params", "--params", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"candle: error: {path}: [Global_Params]: unknown key 'warmup'")


def test_an_incomplete_dataset_is_bad_input(tmp_path, capsys):
    (tmp_path / "prep-1").mkdir()
    assert cli.main(["trial", "--data", str(tmp_path / "prep-1"), "--out", str(tmp_path / "out")]) == 2
    assert "prepared dataset is incomplete" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["trial", "--data", "x", "--out", "y", "--threads", "0"])
    assert info.value.code == 2
    assert "--threads: expected a positive integer, got '0'" in capsys.readouterr().err


def test_every_option_has_help():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == {"trial", "params", "plan", "status", "serve", "retry-failed", "devices"}
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings} has no help"


def test_a_failed_trial_exits_1(tiny_prepared, tmp_path, monkeypatch, capsys):
    def failed_trial(dataset_dir, spec, out_dir, *, threads, log):
        log("diverged")
        return {"status": "failed", "failure_reason": "loss is NaN", "objective": {"metric": "val_loss", "value": None}}

    monkeypatch.setattr("candle_lib.trial.run.run_trial", failed_trial)
    assert cli.main(["trial", "--data", str(tiny_prepared), "--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "trial failed: loss is NaN" in err
    trial_dir = tmp_path / expected_trial_id(NT3_DEFAULTS, HOLDOUT, "prep-00000000")
    assert out == f"trial {trial_dir.name} failed: val_loss=None; results in {trial_dir}\n"
    assert (trial_dir / "trial.log").read_text().splitlines()[-1] == "diverged"


# --------------------------------------------------------------------------- candle trial (subprocess, trains)


def test_trial_from_a_candle_ini(tiny_prepared, tmp_path):
    result = candle(
        "trial",
        "--data",
        str(tiny_prepared),
        "--params",
        str(NT3_INI),
        *TINY_CONV,
        "--out",
        str(tmp_path),
        "--threads",
        "1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    params = {**NT3_DEFAULTS, "conv": [4, 5, 1], "pool": [2], "dense": [8], "epochs": 2}
    trial_dir = tmp_path / expected_trial_id(params, HOLDOUT, "prep-00000000")
    assert result.stdout.startswith(f"trial {trial_dir.name} ok: val_loss=")
    assert result.stdout.endswith(f"; results in {trial_dir}\n")
    assert json.loads((trial_dir / "params.json").read_text()) == {
        "params": params,
        "role": HOLDOUT,
        "data": "prep-00000000",
    }
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    assert (metrics["status"], metrics["epochs_run"], metrics["role"], metrics["threads"]) == ("ok", 2, "holdout", 1)
    assert len(pd.read_csv(trial_dir / "history.csv")) == 2
    log = (trial_dir / "trial.log").read_text().splitlines()
    assert log[0] == f"parameters: defaults < {NT3_INI} < --set conv=[4, 5, 1] pool=[2] dense=[8] epochs=2"
    warnings = [line for line in log if line.startswith("candle: warning: ")]
    assert len(warnings) == 1
    assert warnings[0].startswith("candle: warning: 15 CANDLE keys ignored (no effect here: data_url, train_data, ")


def test_final_trial_of_a_p1b1_autoencoder(tiny_prepared, tmp_path):
    result = candle(
        "trial",
        "--data",
        str(tiny_prepared),
        "--params",
        str(P1B1_INI),
        "--set",
        "dense=[8]",
        "--set",
        "epochs=2",
        "--set",
        "batch_size=16",
        "--role",
        "final",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    params = {
        **NT3_DEFAULTS,
        "model": "p1b1",
        "vae": False,
        "dense": [8],
        "batch_size": 16,
        "epochs": 2,
        "loss": "mse",
        "optimizer": "adam",
        "dropout": 0.0,
        "scaling": "minmax",
        "rng_seed": 2017,
    }
    trial_dir = tmp_path / expected_trial_id(params, FINAL, "prep-00000000")
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    assert (metrics["status"], metrics["role"], metrics["objective"]["metric"]) == ("ok", "final", "test_mse")
    assert result.stdout.startswith(f"trial {trial_dir.name} ok: test_mse=")


def test_plan_exports_upf_that_method_upf_reads_back_to_the_same_trials(tmp_path, capsys):
    import yaml
    from conftest import tiny_config

    from candle_lib.config import validate_config
    from candle_lib.search.methods import plan_search
    from candle_lib.search.upf import read_upf

    config = tiny_config(hpo={"space": {"learning_rate": [0.001, 0.01, 0.1], "dropout": [0.0, 0.5]}})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert cli.main(["plan", "--config", str(path), "--upf", str(tmp_path / "grid.upf")]) == 0
    out = capsys.readouterr().out
    assert "grid search: 6 trials, 1 prepared-data variants" in out
    # tiny config: 3 folds, 5 UQ members, 7 TDA trials; the UQ seed member is TDA's noise-0 trial
    assert "trials by target: hpo 6, cv 3, uq 5, tda 7; 20 distinct" in out
    rows = read_upf(tmp_path / "grid.upf")
    assert [row["learning_rate"] for row in rows] == [0.001, 0.001, 0.01, 0.01, 0.1, 0.1]
    back = tiny_config(hpo={"method": "upf", "upf": str(tmp_path / "grid.upf")})
    back["hpo"].pop("space")
    back = validate_config(back)
    assert list(plan_search(back).trials) == [row["id"] for row in rows]


def test_plan_refuses_a_missing_config(tmp_path, capsys):
    assert cli.main(["plan", "--config", str(tmp_path / "none.yaml")]) == cli.EXIT_BAD_INPUT
    assert "no such config file" in capsys.readouterr().err
