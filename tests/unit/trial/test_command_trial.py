"""Trials of a training command (model: command), through real subprocesses: what the command is
given (the role's rows, scaled on training rows only), how its predictions are scored, failures as
results with the stderr tail, bad commands as input errors, its checkpoint folder, no TensorFlow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.prepared import load_prepared
from candle_lib.errors import CandleInputError
from candle_lib.params.declared import parse_declarations
from candle_lib.params.specs import BUILTIN_SPECS, resolve_params
from candle_lib.trial.spec import HOLDOUT, MEMBER, trial_spec

REPO = Path(__file__).resolve().parents[3]

# copies what the command is given, then predicts every row [0.8, 0.2] / [0.3, 0.7] by position
SEEING = """
import json, os, shutil, sys
import numpy as np
shutil.copytree(os.environ["CANDLE_INPUT_DIR"], os.path.join(os.environ["SEEN"], "input"))
x = np.load(os.path.join(os.environ["CANDLE_INPUT_DIR"], "x_predict.npy"))
p = np.array([[0.8, 0.2] if i % 2 == 0 else [0.3, 0.7] for i in range(len(x))])
np.save(os.path.join(os.environ["CANDLE_OUTPUT_DIR"], "predictions.npy"), p)
with open(os.path.join(os.environ["CANDLE_OUTPUT_DIR"], "metrics.json"), "w") as f:
    json.dump({"val_loss": 99.0, "val_own": 0.5}, f)
with open(os.path.join(os.environ["CANDLE_OUTPUT_DIR"], "history.csv"), "w") as f:
    f.write("loss,val_loss\\n0.9,1.0\\n0.7,0.8\\n")
"""


def script(directory: Path, name: str, body: str) -> str:
    (directory / name).write_text(textwrap.dedent(body))
    return name


def command_spec(command: str, role=HOLDOUT, specs=None, **changes) -> dict:
    layer = {"model": "command", "command": command, "scaling": "standard", "timeout": 60.0} | changes
    return trial_spec(resolve_params(layer, specs=specs), role=role, data="prep-00000000")


def run(prepared, out: Path, spec: dict, lines: list | None = None) -> dict:
    from candle_lib.trial.run import run_trial

    return run_trial(prepared, spec, out, threads=1, log=(lines.append if lines is not None else lambda m: None))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The workflow's directory: commands name their scripts relative to it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEEN", str(tmp_path / "seen"))
    (tmp_path / "seen").mkdir()
    return tmp_path


def standard_scaled(values: np.ndarray, train: np.ndarray) -> np.ndarray:
    mean, sd = train.mean(axis=0), train.std(axis=0)
    return (values - mean) / np.where(sd == 0, 1.0, sd)


def test_the_command_sees_the_roles_rows_scaled_on_training_rows_only(tiny_prepared, workdir):
    spec = command_spec(f"python {script(workdir, 'seeing.py', SEEING)}", role=MEMBER)
    result = run(tiny_prepared, workdir / "trial", spec)
    assert result["status"] == "ok", result["failure_reason"]
    seen = workdir / "seen" / "input"
    data = load_prepared(tiny_prepared)
    split = data.samples["split"].to_numpy()
    train, val, test = (np.flatnonzero(split == s) for s in ("train", "val", "test"))
    matrix = np.asarray(data.matrix, dtype=np.float64)
    np.testing.assert_allclose(np.load(seen / "x_train.npy"), standard_scaled(matrix[train], matrix[train]), atol=2e-5)
    predicted = np.concatenate([val, test])
    np.testing.assert_allclose(
        np.load(seen / "x_predict.npy"), standard_scaled(matrix[predicted], matrix[train]), atol=2e-5
    )
    np.testing.assert_allclose(np.load(seen / "x_eval.npy"), standard_scaled(matrix[val], matrix[train]), atol=2e-5)
    codes = data.samples["label_code"].to_numpy()
    np.testing.assert_array_equal(np.load(seen / "y_train.npy"), np.eye(2, dtype=np.float32)[codes[train]])
    np.testing.assert_array_equal(np.load(seen / "y_eval.npy"), np.eye(2, dtype=np.float32)[codes[val]])
    rows = pd.read_csv(seen / "rows.csv")
    assert rows[rows["set"] == "train"]["row"].tolist() == train.tolist()
    assert rows[rows["set"] == "predict"]["row"].tolist() == predicted.tolist()
    assert rows[rows["set"] == "predict"]["sample_id"].tolist() == data.samples["sample_id"].iloc[predicted].tolist()
    task = json.loads((seen / "task.json").read_text())
    assert task["objective"] == {"metric": "val_loss", "direction": "minimize"}
    assert task["predicted_splits"] == {"val": len(val), "test": len(test)}
    assert (task["n_train"], task["n_outputs"], task["classes"]) == (len(train), 2, list(data.classes))
    assert json.loads((seen / "params.json").read_text()) == spec["params"]
    saved = json.loads((workdir / "trial" / "scaler.json").read_text())
    assert saved["kind"] == "standard"
    np.testing.assert_allclose(saved["state"]["mean_"], matrix[train].mean(axis=0), rtol=1e-6)


def test_predictions_are_scored_as_a_keras_trials_and_written(tiny_prepared, workdir):
    spec = command_spec(f"python {script(workdir, 'seeing.py', SEEING)}", role=MEMBER)
    result = run(tiny_prepared, workdir / "trial", spec)
    data = load_prepared(tiny_prepared)
    split, codes = data.samples["split"].to_numpy(), data.samples["label_code"].to_numpy()
    val, test = np.flatnonzero(split == "val"), np.flatnonzero(split == "test")
    position = np.arange(len(val) + len(test))
    p_first = np.where(position % 2 == 0, 0.8, 0.3)
    truth = codes[np.concatenate([val, test])]
    p_true = np.where(truth == 0, p_first, 1 - p_first)
    guess = np.where(position % 2 == 0, 0, 1)
    metrics = result["metrics"]
    # the trial's own scoring wins over the command's val_loss (99); its other metrics are kept
    assert metrics["val_loss"] == pytest.approx(-np.mean(np.log(p_true[: len(val)])), rel=1e-12)
    assert metrics["test_loss"] == pytest.approx(-np.mean(np.log(p_true[len(val) :])), rel=1e-12)
    assert metrics["val_accuracy"] == pytest.approx(np.mean(guess[: len(val)] == truth[: len(val)]))
    assert metrics["val_own"] == 0.5
    assert result["objective"] == {"metric": "val_loss", "direction": "minimize", "value": metrics["val_loss"]}
    table = pd.read_parquet(workdir / "trial" / "predictions.parquet")
    assert table["sample_id"].tolist() == data.samples["sample_id"].iloc[np.concatenate([val, test])].tolist()
    assert table["pred_code"].tolist() == guess.tolist()
    history = pd.read_csv(workdir / "trial" / "history.csv")
    assert history.to_dict("list") == {"epoch": [1, 2], "loss": [0.9, 0.7], "val_loss": [1.0, 0.8]}
    assert result["epochs_run"] == 2 and (result["n_train"], result["n_eval"]) == (36, len(val))
    on_disk = json.loads((workdir / "trial" / "metrics.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["metrics"] == metrics
    assert not (workdir / "trial" / "command_input").exists()  # the data copy is removed


FAILING = {
    "exit_3": (
        "import sys\nfor i in range(1, 26):\n    print(f'err-{i:02d}', file=sys.stderr)\nsys.exit(3)\n",
        "the command failed (exit status 3)",
    ),
    "no_metrics": (
        "import sys\nprint('err-25 nothing written', file=sys.stderr)\n",
        "the command wrote no command_output/metrics.json",
    ),
    "nan_objective": (
        "import os, sys\nprint('err-25 diverged', file=sys.stderr)\n"
        "open(os.path.join(os.environ['CANDLE_OUTPUT_DIR'], 'metrics.json'), 'w').write('{\"val_loss\": NaN}')\n",
        "the objective val_loss is nan",
    ),
    "no_objective": (
        "import os, sys\nprint('err-25 other metric', file=sys.stderr)\n"
        "open(os.path.join(os.environ['CANDLE_OUTPUT_DIR'], 'metrics.json'), 'w').write('{\"val_auc\": 0.5}')\n",
        "the command reported no val_loss (it reported val_auc)",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_failing_command_is_a_failed_trial_with_its_stderr_tail(tiny_prepared, workdir, case):
    body, cause = FAILING[case]
    spec = command_spec(f"python {script(workdir, 'fail.py', body)}")
    result = run(tiny_prepared, workdir / "trial", spec)
    assert result["status"] == "failed"
    reason = result["failure_reason"]
    assert reason.startswith(cause), reason
    assert "last lines of stderr:\n" in reason and "err-25" in reason
    if case == "exit_3":  # the last 20 lines: 06..25
        assert "err-06" in reason and "err-05" not in reason
        assert result["exit_status"] == 3
    on_disk = json.loads((workdir / "trial" / "metrics.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["failure_reason"] == reason
    assert len(pd.read_parquet(workdir / "trial" / "predictions.parquet")) == 0
    for name in ("params.json", "history.csv", "scaler.json"):
        assert (workdir / "trial" / name).is_file()
    assert not (workdir / "trial" / "command_checkpoint").exists()


def test_a_command_past_its_timeout_is_killed_and_failed(tiny_prepared, workdir):
    body = "import sys, time\nprint('err-25 started', file=sys.stderr, flush=True)\ntime.sleep(120)\n"
    spec = command_spec(f"python {script(workdir, 'sleep.py', body)}", timeout=1.0)
    started = time.monotonic()
    result = run(tiny_prepared, workdir / "trial", spec)
    assert time.monotonic() - started < 20
    assert result["status"] == "failed"
    assert result["failure_reason"].startswith("timeout: the command ran longer than 1 s and was killed")
    assert "err-25 started" in result["failure_reason"]


def test_predictions_of_the_wrong_shape_fail_the_trial(tiny_prepared, workdir):
    body = (
        "import json, os, numpy as np\nout = os.environ['CANDLE_OUTPUT_DIR']\n"
        "np.save(os.path.join(out, 'predictions.npy'), np.zeros((3, 2)))\n"
        "json.dump({'val_loss': 0.1}, open(os.path.join(out, 'metrics.json'), 'w'))\n"
    )
    result = run(tiny_prepared, workdir / "trial", command_spec(f"python {script(workdir, 'shape.py', body)}"))
    assert result["status"] == "failed"
    assert result["failure_reason"].startswith("command_output/predictions.npy has shape (3, 2), expected (12, 2)")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("no-such-program-xyz --flag", "model.command: the command 'no-such-program-xyz' is not found on PATH"),
        ("python missing_script.py", "model.command: the script missing_script.py does not exist"),
        ("./absent.sh", "model.command: the command ./absent.sh does not exist"),
    ],
)
def test_a_command_that_cannot_start_is_bad_input(tiny_prepared, workdir, command, message):
    with pytest.raises(CandleInputError) as caught:
        run(tiny_prepared, workdir / "trial", command_spec(command))
    assert str(caught.value).startswith(message)
    assert caught.value.where == "model.command"
    assert not (workdir / "trial").exists()


def test_arguments_environment_and_directory_of_the_command(tiny_prepared, workdir, monkeypatch):
    body = """
    import json, os, sys
    names = ["CANDLE_PARAMS", "CANDLE_OUTPUT_DIR", "CANDLE_CHECKPOINT_DIR", "CANDLE_THREADS", "CANDLE_INPUT_DIR",
             "CUDA_VISIBLE_DEVICES", "MY_SETTING", "OMP_NUM_THREADS"]
    seen = {"argv": sys.argv, "cwd": os.getcwd(), "env": {n: os.environ.get(n) for n in names}}
    out = os.environ["CANDLE_OUTPUT_DIR"]
    json.dump(seen, open(os.path.join(out, "seen.json"), "w"))
    json.dump({"val_loss": 0.25}, open(os.path.join(out, "metrics.json"), "w"))
    """
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    specs = BUILTIN_SPECS.with_declared(
        parse_declarations({"hidden_units": {"type": "int", "default": 16}}, source="test", where="hyperparameters")
    )
    spec = command_spec(
        f"python {script(workdir, 'args.py', body)} {{params}} --fixed 1",
        specs=specs,
        hidden_units=7,
        environment=["MY_SETTING=a=b"],
    )
    result = run(tiny_prepared, workdir / "trial", spec)
    assert result["status"] == "ok" and result["objective"]["value"] == 0.25 and result["device"] == "gpu:3"
    seen = json.loads((workdir / "trial" / "command_output" / "seen.json").read_text())
    trial = str((workdir / "trial").absolute())
    assert seen["argv"] == [str(workdir / "args.py"), "--epochs", "400", "--batch_size", "20"] + [
        "--learning_rate", "0.001", "--hidden_units", "7", "--fixed", "1"
    ]  # fmt: skip
    assert seen["cwd"] == trial
    assert seen["env"] == {
        "CANDLE_PARAMS": f"{trial}/command_input/params.json",
        "CANDLE_OUTPUT_DIR": f"{trial}/command_output",
        "CANDLE_CHECKPOINT_DIR": f"{trial}/command_checkpoint",
        "CANDLE_THREADS": "1",
        "CANDLE_INPUT_DIR": f"{trial}/command_input",
        "CUDA_VISIBLE_DEVICES": "3",
        "MY_SETTING": "a=b",
        "OMP_NUM_THREADS": "1",
    }


def test_a_malformed_environment_entry_is_bad_input(tiny_prepared, workdir):
    with pytest.raises(CandleInputError, match=r"model.environment\[0\]: 'NO_EQUALS' is not NAME=value"):
        run(tiny_prepared, workdir / "trial", command_spec("python", environment=["NO_EQUALS"]))


CHECKPOINTING = """
import json, os, sys, time
ckpt = os.path.join(os.environ["CANDLE_CHECKPOINT_DIR"], "state.txt")
if os.path.exists(ckpt):
    resumed = open(ckpt).read()
    json.dump({"val_loss": 0.5, "val_resumed": float(resumed)}, open(os.path.join(os.environ["CANDLE_OUTPUT_DIR"], "metrics.json"), "w"))
    sys.exit(0)
open(os.path.join(os.environ["SEEN"], "pid"), "w").write(str(os.getpid()))
open(ckpt, "w").write("7")
time.sleep(120)
"""

TRIAL_IN_A_PROCESS = """
import json, sys
from pathlib import Path
from candle_lib.trial.run import run_trial
spec = json.loads(Path(sys.argv[1]).read_text())
run_trial(Path(sys.argv[2]), spec, Path(sys.argv[3]), log=print)
print("modules:", sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "torch"}))
"""


def trial_process(workdir: Path, prepared: Path, spec: dict) -> subprocess.Popen:
    (workdir / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    argv = [sys.executable, "-c", TRIAL_IN_A_PROCESS, str(workdir / "spec.json"), str(prepared), str(workdir / "trial")]
    return subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # a zombie is gone too


def test_the_checkpoint_folder_survives_a_killed_attempt_and_goes_after_a_result(tiny_prepared, workdir):
    spec = command_spec(f"python {script(workdir, 'ckpt.py', CHECKPOINTING)}")
    attempt = trial_process(workdir, tiny_prepared, spec)
    pid_file = workdir / "seen" / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    attempt.send_signal(signal.SIGKILL)  # the trial's own process dies; the command must not outlive it
    attempt.wait()
    command_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not gone(command_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(command_pid)
    assert (workdir / "trial" / "command_checkpoint" / "state.txt").read_text() == "7"
    assert not (workdir / "trial" / "metrics.json").exists()

    result = run(tiny_prepared, workdir / "trial", spec)
    assert result["status"] == "ok" and result["metrics"]["val_resumed"] == 7.0
    assert not (workdir / "trial" / "command_checkpoint").exists()


def test_a_command_trial_never_imports_tensorflow(tiny_prepared, workdir):
    spec = command_spec(f"python {script(workdir, 'seeing.py', SEEING)}")
    attempt = trial_process(workdir, tiny_prepared, spec)
    output, _ = attempt.communicate(timeout=120)
    assert attempt.returncode == 0, output
    assert "modules: []" in output
    assert json.loads((workdir / "trial" / "metrics.json").read_text())["status"] == "ok"


def test_the_example_mlp_command_trains_and_resumes_from_its_checkpoint(tiny_prepared, workdir):
    example = REPO / "config" / "examples" / "models" / "mlp_command.py"
    specs = BUILTIN_SPECS.with_declared(
        parse_declarations({"hidden_units": {"type": "int", "default": 16}}, source="test", where="hyperparameters")
    )
    spec = command_spec(f"python {example}", specs=specs, hidden_units=8, epochs=3, batch_size=8, learning_rate=0.01)
    lines: list = []
    result = run(tiny_prepared, workdir / "trial", spec, lines)
    assert result["status"] == "ok", result["failure_reason"]
    history = pd.read_csv(workdir / "trial" / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3] and result["epochs_run"] == 3
    # the example's own val_loss of its last epoch equals the trial's scoring of its predictions
    assert history["val_loss"].iloc[-1] == pytest.approx(result["metrics"]["val_loss"], rel=1e-6)
    failing = command_spec(f"python {example}", specs=specs, hidden_units=0, epochs=1)
    failed = run(tiny_prepared, workdir / "failed", failing)
    assert failed["status"] == "failed" and "hidden_layer_sizes" in failed["failure_reason"]


COPYING = """
import json, os, shutil
shutil.copytree(os.environ["CANDLE_INPUT_DIR"], os.path.join(os.environ["SEEN"], "input"))
json.dump({"val_mse": 1.0}, open(os.path.join(os.environ["CANDLE_OUTPUT_DIR"], "metrics.json"), "w"))
"""


def test_drug_responses_are_given_as_joined_rows_scaled_on_training_responses(tmp_path_factory, workdir):
    from candle_lib.data.drug_prepared import load_drug_prepared, prepare_drug_response
    from candle_lib.data.drug_tables import FeatureTable
    from candle_lib.data.synthetic import synthetic_drug_response

    synthetic = synthetic_drug_response(
        n_cell_lines=12, n_drugs=6, n_genes=5, n_descriptors=3, n_fingerprint_bits=4, seed=2
    )

    def table(frame, column):
        return FeatureTable(
            pd.Index(frame[column].astype(str)), pd.Index(frame.columns[1:]), frame.iloc[:, 1:].to_numpy(np.float32)
        )

    prepared = tmp_path_factory.mktemp("drug") / "prep-drug"
    cell, drug = table(synthetic.cell_features, "cell_line"), table(synthetic.drug_features, "drug")
    prepare_drug_response(prepared, cell, drug, synthetic.responses, target="growth", splits={"seed": 1})
    spec = command_spec(f"python {script(workdir, 'copy.py', COPYING)}", task="regression")
    result = run(prepared, workdir / "trial", spec)
    assert result["status"] == "ok" and result["objective"] == {
        "metric": "val_mse",
        "direction": "minimize",
        "value": 1.0,
    }
    data = load_drug_prepared(prepared)
    responses = data.samples
    train = np.flatnonzero(responses["split"].to_numpy() == "train")
    expected = []
    for block, matrix in (("cell", np.asarray(data.cell, np.float64)), ("drug", np.asarray(data.drug, np.float64))):
        index = responses[f"{block}_row"].to_numpy()
        used = matrix[np.unique(index[train])]  # each profile once, as the feed fits it
        expected.append(standard_scaled(matrix[index[train]], used))
    expected.append(responses["dose"].to_numpy()[train, None])
    seen = workdir / "seen" / "input"
    np.testing.assert_allclose(np.load(seen / "x_train.npy"), np.concatenate(expected, axis=1), atol=2e-5)
    np.testing.assert_allclose(np.load(seen / "y_train.npy")[:, 0], responses["target"].to_numpy()[train], rtol=1e-6)
