"""A trial process does not import scikit-learn (nor the SciPy it brings): real ``candle trial``
runs in a fresh Python process, which then reports the modules it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# Runs trials through the command line's entry point, then prints which of the watched modules
# the process has imported so far; the last argument is the scalings to run, in order.
PROGRAM = """
import json, sys
from candle_lib.cli import main

WATCHED = ("sklearn", "scipy", "scipy.stats")
data, out, scalings = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
for scaling in scalings:
    tiny = ["conv=[4, 5, 1]", "pool=[2]", "dense=[8]", "epochs=1", f"scaling={scaling}"]
    sets = [arg for value in tiny for arg in ("--set", value)]
    code = main(["trial", "--data", data, *sets, "--out", out, "--threads", "1"])
    print(json.dumps({"scaling": scaling, "exit": code, "imported": [m for m in WATCHED if m in sys.modules]}))
"""


def trial_imports(prepared, out, scalings: list[str]) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(prepared), str(out), ",".join(scalings)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_a_trial_imports_scikit_learn_only_for_a_scaler_of_its_own(tiny_prepared, tmp_path):
    reports = trial_imports(tiny_prepared, tmp_path, ["maxabs", "standard", "robust"])
    assert [(r["scaling"], r["exit"]) for r in reports] == [("maxabs", 0), ("standard", 0), ("robust", 0)]
    # maxabs (the parameter's default) and standard (the config's): NumPy scalers and ROC AUC;
    # nor SciPy, which TensorFlow's legacy tf.keras would import (candle_lib.trial.lean_keras)
    assert "sklearn" not in reports[0]["imported"] and "scipy" not in reports[0]["imported"]
    assert "sklearn" not in reports[1]["imported"] and "scipy" not in reports[1]["imported"]
    # robust is scikit-learn's, imported when asked for: the check above can see an import
    assert {"sklearn", "scipy", "scipy.stats"} <= set(reports[2]["imported"])
    saved = sorted(json.loads(p.read_text())["kind"] for p in tmp_path.glob("*/scaler.json"))
    assert saved == ["maxabs", "robust", "standard"]
