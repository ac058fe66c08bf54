"""A trial of this project against a stand-in for CANDLE's own NT3 run, on the same work (issue 18).

The bench writes NT3-layout CSVs (no header; column 0 the class 0/1, then the features;
log2(FPKM-UQ + 1)-like values, written with 5 significant digits), prepares them once with this
project's ``candle`` data source (``files.layout: nt3``, no normalization, transform or filter)
by running the workflow's ``data`` target, then runs in fresh processes, ``--pairs`` times,
interleaved (the order alternates from pair to pair so that drifting load hits both):

  candle_nt3    bench/_candle_nt3.py, a stand-in for CANDLE's nt3_baseline_keras2.py with its
                defaults (pandas read_csv of both CSVs, MaxAbsScaler on train + test, the NT3
                1D-CNN: conv [128, 20, 1, 128, 10, 1], pool [1, 10], dense [200, 20], dropout
                0.1, SGD lr 0.001, batch 20; fit validating on the test rows every epoch, then
                evaluate and save the model JSON and weights) under this project's Keras 3; the
                figures of issue 18 were measured with CANDLE's real script on tf-keras.
  candle_trial  the ``candle trial`` command (role holdout, the same hyperparameters, which are
                the command's defaults, ``--set epochs=N``) through bench/_trial_probe.py, which
                runs candle_lib.cli.main exactly as the console script does and notes when the
                first training batch begins and the last one ends.

The work is the same size on both sides: CANDLE trains on the train file and validates on the
test file every epoch. A holdout trial trains on the 'train' split and validates on 'val' every
epoch, and the val rows come out of the train file; so the project's train file holds the
stand-in's training rows plus as many rows again as the test file (``project_train.csv``), and
``data.splits.val_fraction`` makes val exactly that many rows: training rows and validated rows
are the same counts on both sides (the run prints them). The project's own test file (the
stand-in's) is not touched by a holdout trial.

Figures per process: wall time from spawn to exit; time per epoch (the median of its epochs,
train + validation; the trial's from history.csv); fixed cost = wall - sum of the epochs, split
into start -> first training batch and last training batch -> exit; peak memory = the child's
ru_maxrss from os.wait4 (its VmHWM). The table shows the medians over the pairs and
trial/candle ratios (of the medians, and the median of the pairwise ratios). Goals of issue 18:
memory <= 1.0x (aim 0.6x), fixed cost <= 0.5x, epoch time <= 0.8x; ``--check`` exits 1 when one
is missed.

``--profile-memory`` instead runs each side once with a probe that samples VmRSS from a thread
and marks the stages (bench/_memory_stages.py), then the trial again with one piece switched
off at a time (checkpoints, validation, prediction, the evaluation batch size), and prints the
memory by stage and what each piece adds to the peak.

    .venv/bin/python bench/bench_vs_candle.py                      # 1,120 + 280 rows x 6,000, 3 epochs, 3 pairs
    .venv/bin/python bench/bench_vs_candle.py --quick              # 200 + 50 rows x 600, 2 epochs, 1 pair
    .venv/bin/python bench/bench_vs_candle.py --profile-memory     # memory by stage, pieces switched off
    .venv/bin/python bench/bench_vs_candle.py --features 60483 --epochs 1 --pairs 1   # NT3's full width
    .venv/bin/python bench/bench_vs_candle.py --quick --trial-set mixed_precision=bfloat16   # a CPU option
    .venv/bin/python bench/bench_vs_candle.py --quick --trial-env TF_ENABLE_ONEDNN_OPTS=0     # oneDNN off

``--trial-set KEY=VALUE`` and ``--trial-env NAME=VALUE`` run the trial side with a setting of
its own (bfloat16 on the CPU: ``mixed_precision=bfloat16``; XLA: ``jit_compile=True``) or an
environment variable (oneDNN off: ``TF_ENABLE_ONEDNN_OPTS=0``), to measure what they give.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _memory_stages import stage_table  # noqa: E402
from _train_bench_data import REPO, make_values  # noqa: E402

KINDS = ("candle_nt3", "candle_trial")
GOALS = {"peak memory": 1.0, "fixed cost": 0.5, "time per epoch": 0.8}  # trial/candle at most
MiB = 2**20


# ------------------------------------------------------------------------------- the data --


def write_nt3_csv(path: Path, labels: np.ndarray, values: np.ndarray) -> None:
    """An NT3-layout CSV: no header, the integer class, then the features (5 significant digits)."""
    with open(path, "w") as handle:
        for start in range(0, len(labels), 100):
            block = np.column_stack([labels[start : start + 100], values[start : start + 100]])
            np.savetxt(handle, block, delimiter=",", fmt=["%d"] + ["%.5g"] * values.shape[1])


def write_csvs(workdir: Path, rows: int, test_rows: int, features: int) -> dict[str, Path]:
    """nt3_train.csv (``rows``), nt3_test.csv (``test_rows``) for the stand-in; project_train.csv =
    nt3_train.csv's rows, then ``test_rows`` more, for the project (its val split)."""
    total = rows + 2 * test_rows
    labels = np.arange(total) % 2  # balanced classes, alternating
    values = make_values(total, features, labels.astype(np.float32), seed=1)
    files = {name: workdir / f"{name}.csv" for name in ("nt3_train", "nt3_test", "project_train")}
    write_nt3_csv(files["nt3_train"], labels[:rows], values[:rows])
    write_nt3_csv(files["nt3_test"], labels[rows : rows + test_rows], values[rows : rows + test_rows])
    extra = workdir / "val_rows.csv"
    write_nt3_csv(extra, labels[rows + test_rows :], values[rows + test_rows :])
    with open(files["project_train"], "wb") as out:
        for part in (files["nt3_train"], extra):
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out)
    extra.unlink()
    return files


def prepare(workdir: Path, files: dict[str, Path], rows: int, test_rows: int) -> Path:
    """The project's prepared dataset of the CSVs: the workflow's ``data`` target, source candle."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["data"].update(
        source="candle",
        normalization="none",
        transform="none",
        filters={"min_nonzero_samples": 0, "top_variance": None, "gene_list": None},
    )
    config["data"]["files"].update(train=str(files["project_train"]), test=str(files["nt3_test"]), layout="nt3")
    config["data"]["splits"]["val_fraction"] = test_rows / (rows + 2 * test_rows)  # val: test_rows of the train file
    study = workdir / "study"
    study.mkdir(exist_ok=True)
    (study / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(study)]
    command += ["--configfile", str(study / "config.yaml"), "--cores", "2", "data"]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if done.returncode != 0:
        raise SystemExit(f"preparing the dataset failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    (prepared,) = (study / "results" / "data" / "prepared").iterdir()
    return prepared


# ------------------------------------------------------------------------------ the runs --


def spawn(command: list[str], extra_env: dict | None = None) -> dict:
    """Run ``command`` in a fresh process: its wall time (s), start and end (epoch seconds) and
    peak resident memory (ru_maxrss of os.wait4, MiB)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=str(REPO))
    env.update(extra_env or {})
    started_at, started = time.time(), time.monotonic()
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"{command[1]} failed ({child.returncode}):\n{output.decode(errors='replace')[-4000:]}")
    return {"wall": wall, "started_at": started_at, "ended_at": started_at + wall, "peak": usage.ru_maxrss / 1024}


def run_kind(
    kind: str, args, data: dict, out: Path, *, probe_args: tuple = (), sets: tuple = (), profile: bool = False
) -> dict:
    """One measured process of ``kind``; its figures (see the module docstring). ``probe_args``:
    switches of bench/_trial_probe.py; ``sets``: more ``--set KEY=VALUE`` of the trial."""
    marks_file = out.with_suffix(".marks.json")
    probe = ["--profile-memory"] if profile else []
    if kind == "candle_nt3":
        command = [sys.executable, str(HERE / "_candle_nt3.py"), "--train", str(data["nt3_train"])]
        command += ["--test", str(data["nt3_test"]), "--epochs", str(args.epochs), "--threads", str(args.threads)]
        command += ["--out", str(out), "--marks", str(marks_file), *probe]
    else:
        command = [sys.executable, str(HERE / "_trial_probe.py"), "--marks", str(marks_file), *probe, *probe_args]
        command += ["--", "trial", "--data", str(data["prepared"]), "--out", str(out), "--threads", str(args.threads)]
        for setting in (f"epochs={args.epochs}", *getattr(args, "trial_set", []), *sets):
            command += ["--set", setting]
    trial_env = dict(pair.split("=", 1) for pair in getattr(args, "trial_env", [])) if kind == "candle_trial" else {}
    figures = spawn(command, trial_env)
    marks = json.loads(marks_file.read_text())
    if kind == "candle_trial":
        import pandas as pd

        (history,) = out.glob("*/history.csv")
        rows = pd.read_csv(history)
        marks["epoch_seconds"] = rows["seconds"].tolist()
        if "val_loss" in rows:
            marks["val_loss"] = float(rows["val_loss"].iloc[-1])
    epochs = marks["epoch_seconds"]
    figures.update(
        epoch=statistics.median(epochs),
        epochs=epochs,
        fixed=figures["wall"] - sum(epochs),
        to_first_batch=marks["first_batch"] - figures["started_at"],
        after_last_batch=figures["ended_at"] - marks["last_batch_end"],
        n_train=marks.get("n_train"),
        n_eval=marks.get("n_eval"),
        val_loss=marks.get("val_loss"),
        stages=marks.get("stages", []),
    )
    shutil.rmtree(out, ignore_errors=True)
    marks_file.unlink(missing_ok=True)
    return figures


def show_run(label: str, figures: dict) -> None:
    print(
        f"  {label:28s} wall {figures['wall']:7.1f} s  epochs {[round(s, 1) for s in figures['epochs']]}  "
        f"fixed {figures['fixed']:5.1f} s (to 1st batch {figures['to_first_batch']:5.1f}, after last "
        f"{figures['after_last_batch']:5.1f})  peak {figures['peak']:6.0f} MiB  rows {figures['n_train']}/{figures['n_eval']}",
        flush=True,
    )


ROWS = (
    ("time per epoch", "epoch", "s"),
    ("whole process, wall", "wall", "s"),
    ("fixed cost (wall - epochs)", "fixed", "s"),
    ("  start -> first batch", "to_first_batch", "s"),
    ("  last batch -> exit", "after_last_batch", "s"),
    ("peak memory", "peak", "MiB"),
)


def table(results: dict[str, list[dict]]) -> tuple[list[str], dict[str, float]]:
    """The issue's table (medians, ratio of medians, pairwise ratios) and the checked ratios."""
    lines = ["| figure | CANDLE NT3 (stand-in) | this project | ratio | pairwise ratios |", "|---|---|---|---|---|"]
    ratios = {}
    for name, key, unit in ROWS:
        ours = [r[key] for r in results["candle_trial"]]
        theirs = [r[key] for r in results["candle_nt3"]]
        ratio = statistics.median(ours) / statistics.median(theirs)
        pairwise = sorted(a / b for a, b in zip(ours, theirs))
        ratios[name.strip().split(" (")[0]] = ratio
        fmt = "{:,.0f}" if unit == "MiB" else "{:.1f}"
        lines.append(
            f"| {name} | {fmt.format(statistics.median(theirs))} {unit} | {fmt.format(statistics.median(ours))} {unit} "
            f"| {ratio:.2f}x | {', '.join(f'{p:.2f}' for p in pairwise)} |"
        )
    return lines, ratios


def verdicts(ratios: dict[str, float]) -> tuple[list[str], bool]:
    lines, ok = [], True
    for name, limit in GOALS.items():
        met = ratios[name] <= limit
        ok &= met
        lines.append(f"  {name}: {ratios[name]:.2f}x, goal <= {limit}x: {'met' if met else 'MISSED'}")
    return lines, ok


# --------------------------------------------------------------------- memory by stage --

VARIANTS = (  # (label, switches of the trial probe, --set of the trial)
    ("trial, as it runs", (), ()),
    ("no checkpoints", (), ("checkpoint_every=0",)),
    ("no validation", ("--no-validation",), ()),
    ("no prediction", ("--no-predict",), ()),
    ("eval batch = training batch (20)", ("--eval-batch", "20"), ()),
    ("none of the four", ("--no-validation", "--no-predict", "--eval-batch", "20"), ("checkpoint_every=0",)),
)


def profile_memory(args, data: dict, workdir: Path) -> None:
    """Each side once with the stage probe, then the trial with pieces switched off (VARIANTS)."""
    runs = {}

    def show(label: str, figures: dict) -> None:
        runs[label] = figures
        print(f"\n{label}: peak {figures['peak']:,.0f} MiB (ru_maxrss), wall {figures['wall']:.1f} s", flush=True)
        print("\n".join(stage_table(figures["stages"])), flush=True)

    show("candle_nt3 stand-in", run_kind("candle_nt3", args, data, workdir / "profile-candle", profile=True))
    for index, (label, probe_args, sets) in enumerate(VARIANTS):
        out = workdir / f"profile-{index}"
        show(label, run_kind("candle_trial", args, data, out, probe_args=probe_args, sets=sets, profile=True))
    full = runs["trial, as it runs"]["peak"]
    print("\npeak memory by variant (MiB); saved = the full trial's peak - the variant's")
    for label, figures in runs.items():
        print(f"  {label:34s} {figures['peak']:7,.0f}   saved {full - figures['peak']:7,.0f}")


# -------------------------------------------------------------------------------- main --


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 + 50 rows x 600 features, 2 epochs, 1 pair")
    parser.add_argument("--rows", type=int, help="training rows (default 1,120)")
    parser.add_argument("--test-rows", type=int, help="test rows, validated every epoch (default 280)")
    parser.add_argument("--features", type=int, help="features (default 6,000; NT3's full width: 60,483)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 3)")
    parser.add_argument("--pairs", type=int, help="interleaved pairs of runs (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads on both sides (default 2)")
    parser.add_argument(
        "--trial-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one more --set of the trial (repeatable), e.g. mixed_precision=bfloat16 or jit_compile=True",
    )
    parser.add_argument(
        "--trial-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable of the trial process only (repeatable), e.g. TF_ENABLE_ONEDNN_OPTS=0",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal of issue 18 is missed")
    parser.add_argument("--profile-memory", action="store_true", help="memory by stage, pieces switched off")
    parser.add_argument("--workdir", help="where to write the data (default: a temporary directory, removed after)")
    args = parser.parse_args(argv)
    rows = args.rows or (200 if args.quick else 1120)
    test_rows = args.test_rows or (50 if args.quick else 280)
    features = args.features or (600 if args.quick else 6000)
    args.epochs = args.epochs or (2 if args.quick else 3)
    pairs = args.pairs or (1 if args.quick else 3)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_vs_candle_")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        load = os.getloadavg()
        print(
            f"bench_vs_candle: {rows} train + {test_rows} test rows x {features} features, {args.epochs} epochs, "
            f"{pairs} pair(s), threads={args.threads}, {os.cpu_count()} CPU(s), load average {load[0]:.2f}"
            + "".join(f", trial --set {s}" for s in args.trial_set)
            + "".join(f", trial env {e}" for e in args.trial_env)
        )
        data = write_csvs(workdir, rows, test_rows, features)
        print(f"  CSVs written: {', '.join(f'{p.name} {p.stat().st_size / 1e6:.0f} MB' for p in data.values())}")
        prep_started = time.monotonic()
        data["prepared"] = prepare(workdir, data, rows, test_rows)
        print(f"  prepared (workflow target data, source candle) in {time.monotonic() - prep_started:.0f} s")
        if args.profile_memory:
            profile_memory(args, data, workdir)
            return 0
        results: dict[str, list[dict]] = {kind: [] for kind in KINDS}
        for pair in range(pairs):
            for kind in KINDS if pair % 2 == 0 else KINDS[::-1]:
                results[kind].append(run_kind(kind, args, data, workdir / f"run-{kind}-{pair}"))
                show_run(f"pair {pair + 1} {kind}", results[kind][-1])
        lines, ratios = table(results)
        load = os.getloadavg()
        print(f"\nmedians of {pairs} pair(s); load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("\n".join(lines))
        goal_lines, ok = verdicts(ratios)
        print("\n".join(goal_lines))
    finally:
        print(f"total {time.monotonic() - started:.0f} s")
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
