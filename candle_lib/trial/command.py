"""A trial whose model runs out of process, in any framework: a training command (model
``command``), an IMPROVE-style model script (``improve``) or an unmodified CANDLE benchmark
module (``candle_benchmark``). It writes the same trial directory as a Keras trial (params.json,
scaler.json, history.csv, predictions.parquet, metrics.json, trial.log), so every workflow reads
it like any other. This process never imports TensorFlow.

The contract
============

How it runs
-----------
``model: command`` with ``command: "python train.py --flag"``: the command line is split as a
shell would split it (``shlex``), but no shell runs it. It runs with the trial directory
(``results/trials/<id>``) as its current directory. Words that name existing files or folders of
the workflow's directory are made absolute (``train.py`` -> ``/work/study/train.py``). A first
word ``python`` (or ``python3``) is the ``interpreter`` hyperparameter when set (a path, relative
to the workflow's directory, or a name on PATH), else the workflow's own Python. A first word
that names no executable (or a ``python script.py`` whose script does not exist) is bad input:
the job fails with one error naming ``model.command``, no trial is recorded. The word
``{params}`` is replaced by the hyperparameters as ``--name value`` arguments (below).

``model: improve`` with ``command: "python my_model_train.py"``: as ``command``, then the
hyperparameters as ``--name value`` arguments, then ``--input_dir <trial>/command_input
--output_dir <trial>/command_output`` (improvelib's argument names).

``model: candle_benchmark`` with ``benchmark: path/to/xyz_baseline_keras2.py`` (and optionally
``benchmark_params``: its ``*_default_model.txt``, default the one file of that name beside the
module): the interpreter runs :mod:`candle_lib.trial.candle_benchmark_runner` (a standalone file,
standard library only) as CANDLE Supervisor's model runner does: it imports the module by path
(its directory first on sys.path), calls ``initialize_parameters()``, sets the trial's value of
every key of the benchmark's parameter file (those keys are the benchmark's hyperparameters:
the search's values override the file's defaults) and ``output_dir`` and ``save_path`` (both
``<trial>/command_output``) in the returned dict, calls ``run(params)`` and writes the
History's ``history`` dict as ``command_output/history.json``, ``history.csv`` and
``metrics.json`` (each metric's value at the last epoch: ``val_*`` as named, the others as
``train_<name>``). Its objective is ``val_loss`` at the last epoch. A benchmark reads its own
data as it always does; the prepared data are in ``$CANDLE_INPUT_DIR`` if it wants them. It
writes no predictions: uq, tda and infer then have none of its trials' predictions to combine.

Arguments (``{params}``, ``improve``)
-------------------------------------
``--epochs``, ``--batch_size``, ``--learning_rate``, then every hyperparameter the project does
not define itself (declared in the config's ``hyperparameters`` section or by the model), in
name order. Values: ``true``/``false``, numbers as Python writes them, a list as one word per
item (``--units 64 32``: argparse ``nargs='+'``), a mapping as JSON. Every resolved
hyperparameter, built-in ones included, is in ``command_input/params.json``.

Environment
-----------
The workflow's environment (so CUDA_VISIBLE_DEVICES/HIP_VISIBLE_DEVICES of the trial's GPU slot
pass through), then the ``environment`` entries (``NAME=value``), then OMP_NUM_THREADS,
MKL_NUM_THREADS and OPENBLAS_NUM_THREADS = the trial's thread count where neither set them,
PYTHONUNBUFFERED=1 where unset, and:

- ``CANDLE_TRIAL_ID``, ``CANDLE_TRIAL_DIR``: the trial's id and directory (the current one);
- ``CANDLE_INPUT_DIR`` = ``<trial>/command_input``, ``CANDLE_PARAMS`` = its ``params.json``;
- ``CANDLE_OUTPUT_DIR`` = ``<trial>/command_output``: where the outputs go;
- ``CANDLE_CHECKPOINT_DIR`` = ``<trial>/command_checkpoint``: the command's own checkpoints. It
  survives an attempt that is stopped (the job killed, the machine failing) and is there when the
  trial runs again; it is removed once the trial has a result (ok or failed);
- ``CANDLE_THREADS``: the trial's thread count.

Inputs: ``command_input/`` (rewritten for each attempt, removed once the trial has a result)
--------------------------------------------------------------------------------------------
- ``params.json``: the resolved hyperparameters;
- ``task.json``: ``task`` (classification or regression), ``classes``, ``encoding``,
  ``n_features``, ``n_outputs``, ``output_activation``, ``objective`` ({metric, direction}: the
  metric this trial is judged by), ``eval_prefix`` (val, or test for a final model),
  ``predicted_splits`` ({split: rows}, in x_predict's order), ``n_train``, ``n_eval``,
  ``n_predict``, ``rng_seed``;
- ``x_train.npy``, ``y_train.npy``: the rows the role trains on (float32, in order; a bootstrap
  repeats rows; the role's label and feature noise applied), ``y`` one-hot for a classifier
  (one column per class of ``classes``; the codewords of another label encoding), one column
  (the target) for a regressor;
- ``x_eval.npy``, ``y_eval.npy``: the rows it is scored on;
- ``x_predict.npy``: the rows to predict: the eval rows first, then those of each further
  split of ``predicted_splits``;
- ``rows.csv``: ``set`` (train / predict), ``position`` (row of x_train / x_predict), ``row`` (of
  the prepared dataset), ``sample_id``, ``split``.

Every input is scaled by a scaler fitted on the training rows only (the ``scaling``
hyperparameter; ``none`` leaves them as prepared), saved as the trial's ``scaler.json`` as a
Keras trial saves it. Drug-response inputs are joined rows: cell features, drug features, dose.

Outputs: ``command_output/`` (emptied before each attempt; kept after)
----------------------------------------------------------------------
- ``metrics.json`` (required; for ``improve``: ``val_scores.json``): a JSON object of metric
  name -> number (or null). At least the objective of task.json (``val_loss`` for a classifier,
  ``val_mse`` for a regressor, ``test_...`` when eval_prefix is test) unless predictions are
  written. IMPROVE's score names become this project's: ``val_loss`` -> ``<prefix>_loss``,
  ``mse`` -> ``<prefix>_mse``, ``r2`` -> ``<prefix>_r2``, ...;
- ``predictions.npy`` (optional): one row per row of x_predict.npy, in its order, with
  ``n_outputs`` columns (class probabilities in ``classes`` order; the prediction for a
  regressor, which may also be a 1-D array). The trial then scores them with the task's metrics
  exactly as it scores a Keras model's outputs (these values win over the command's own of the
  same name) and writes predictions.parquet; without them predictions.parquet has no rows;
- ``history.csv`` (optional): one row per epoch, an ``epoch`` column (added, 1..n, if absent) and
  any metrics; it becomes the trial's history.csv, and its row count the trial's epochs_run.

Results
-------
The trial's status is ``ok`` when the process exits with status 0 and its objective is a
finite number. Otherwise it is ``failed`` (a result, not a crash: the search goes on), with a
failure_reason that names the cause and ends with the last 20 lines of the command's stderr:
a non-zero exit status (or the signal that killed it), no metrics file, an objective that is
missing, NaN or infinite, predictions of the wrong shape or not finite, or the ``timeout``
hyperparameter's seconds passing (the command's process group then gets SIGTERM, and SIGKILL 5 s
later). Every line the command prints goes to trial.log (``[stdout] ...``, ``[stderr] ...``).
An error of the machine while the trial writes or reads its files (a full disk, an I/O error)
is raised as for a Keras trial: the job fails and its retry runs the trial again.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json, write_table
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import model_form
from candle_lib.trial.command_io import (
    BENCHMARK_OVERRIDES,
    CHECKPOINT_DIR,
    INPUT_DIR,
    OUTPUT_DIR,
    CommandInputs,
    CommandOutputs,
    finite,
    objective_name,
    read_outputs,
    write_inputs,
)
from candle_lib.trial.command_line import benchmark_overrides, command_argv, command_environment, visible_device
from candle_lib.trial.command_process import Finished, run_process
from candle_lib.trial.feed_kinds import make_feed
from candle_lib.trial.run import discard_results, infrastructure_error
from candle_lib.trial.spec import trial_id
from candle_lib.trial.tasks import task_for


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def failure_reason(
    finished: Finished, problem: str | None, metrics: dict, objective: str, timeout: float
) -> str | None:
    """Why the trial failed (None: it did not), with the command's last lines of stderr.
    ``problem``: what is wrong with the command's outputs; ``metrics``: its metrics, scored."""
    if finished.timed_out:
        reason = f"timeout: the command ran longer than {timeout:g} s and was killed"
    elif finished.returncode != 0:
        reason = f"the command failed ({finished.exit_description()})"
    elif problem:
        reason = problem
    elif objective not in metrics:
        reported = ", ".join(sorted(metrics)) or "nothing"
        reason = f"the command reported no {objective} (it reported {reported}) and wrote no predictions to score"
    elif not finite(metrics[objective]):
        reason = f"the objective {objective} is {metrics[objective]}"
    else:
        return None
    if finished.stderr_tail:
        reason += "; last lines of stderr:\n" + "\n".join(finished.stderr_tail)
    return reason


def _scored_metrics(feed, task, outputs: CommandOutputs) -> dict:
    """The command's metrics, and those of its predictions scored as a Keras trial's are."""
    metrics = dict(outputs.metrics)
    if outputs.predictions is not None:
        metrics.update(feed.scores(task, outputs.predictions))
    return metrics


def _write_result(run: dict, outputs: CommandOutputs, metrics: dict, reason: str | None) -> dict:
    feed, task, out_dir = run["feed"], run["task"], run["out_dir"]
    predictions = outputs.predictions if reason is None and outputs.predictions is not None else None
    table = feed.predictions(task, predictions if predictions is not None else np.zeros((0, task.n_outputs)))
    write_table(out_dir / "predictions.parquet", table)
    history = outputs.history if outputs.history is not None else pd.DataFrame(columns=["epoch"])
    write_table(out_dir / "history.csv", history)
    objective = run["objective"]
    result = {
        "status": "ok" if reason is None else "failed",
        "failure_reason": reason,
        "objective": {"metric": objective, "direction": "minimize", "value": metrics.get(objective)},
        "metrics": metrics,
        "epochs_run": len(history),
        "best_epoch": None,
        "stopped_early": False,
        "wall_seconds": round(time.monotonic() - run["started"], 3),
        "role": run["role"]["kind"],
        "n_train": int(len(feed.train_rows)),
        "n_eval": int(len(feed.eval_rows)),
        "device": run["device"],
        "replicas": 0,
        "threads": run["threads"],
        "model_form": run["form"],
        "exit_status": run["finished"].returncode,
    }
    write_json(out_dir / "metrics.json", result)
    shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
    shutil.rmtree(out_dir / INPUT_DIR, ignore_errors=True)
    return result


def _attempt(run: dict, argv: list, env: dict, log) -> dict:
    """Write the inputs, run the command, read and score what it wrote, write the result."""
    feed, task, out_dir, params = run["feed"], run["task"], run["out_dir"], run["params"]
    inputs: CommandInputs = write_inputs(feed, task, params, out_dir, run["objective"])
    if run["overrides"] is not None:
        write_json(inputs.folder / BENCHMARK_OVERRIDES, run["overrides"])
    shutil.rmtree(out_dir / OUTPUT_DIR, ignore_errors=True)
    (out_dir / OUTPUT_DIR).mkdir()
    (out_dir / CHECKPOINT_DIR).mkdir(exist_ok=True)
    kept = any((out_dir / CHECKPOINT_DIR).iterdir())
    log(
        f"trial: {inputs.n_train} training rows, {inputs.n_eval} {feed.prefix} rows, {feed.n_features} features, "
        f"device {run['device']}; running {shlex.join(argv)}"
        + (" (its checkpoint folder is not empty)" if kept else "")
    )
    finished = run_process(argv, cwd=out_dir, env=env, timeout=params["timeout"], log=log)
    run["finished"] = finished
    outputs = read_outputs(out_dir, run["form"], feed.prefix, inputs, task.n_outputs)
    for note in outputs.notes:
        log(note)
    metrics = _scored_metrics(feed, task, outputs) if outputs.problem is None else dict(outputs.metrics)
    reason = failure_reason(finished, outputs.problem, metrics, run["objective"], params["timeout"])
    log(f"command ended after {finished.seconds:.1f} s: {finished.exit_description()}")
    if reason:
        log(f"trial failed: {reason}")
    return _write_result(run, outputs, metrics, reason)


def run_command_trial(dataset_dir, spec: dict, out_dir, *, threads: int = 1, log=_log_to_stderr) -> dict:
    """Run one trial of a model run out of process (see the module's contract) and write its
    trial directory; returns the metrics dict. Bad input (a command that cannot start, a role
    that fine-tunes) raises :class:`~candle_lib.errors.CandleInputError` before anything runs;
    an error of the machine is raised after removing what would look finished."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    params, role = spec["params"], spec["role"]
    form = model_form(params["model"])
    if "init" in role:
        raise CandleInputError(
            f"a {form} model cannot start from another trial's weights (fine-tuning needs a Keras model)",
            where="role.init",
        )
    argv = command_argv(form, params, out_dir)
    env = command_environment(params, out_dir, threads=threads, trial=trial_id(spec))
    overrides = benchmark_overrides(params, out_dir) if form == "candle_benchmark" else None
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "params.json", spec)
    feed = make_feed(dataset_dir, params, role)
    task = task_for(params, feed.classes, feed.encoding, feed.n_features)
    run = {
        "form": form,
        "params": params,
        "role": role,
        "feed": feed,
        "task": task,
        "out_dir": out_dir,
        "objective": objective_name(form, task, feed.prefix),
        "started": started,
        "threads": threads,
        "device": visible_device(env),
        "overrides": overrides,
    }
    try:
        result = _attempt(run, argv, env, log)
    except BaseException as exc:  # the machine failed, or the job was stopped: no result
        discard_results(out_dir)
        cause = infrastructure_error(exc)
        if cause is not None:
            try:
                log(
                    f"trial stopped by an infrastructure error, not a result: {type(cause).__name__}: {cause} "
                    f"(nothing recorded; {CHECKPOINT_DIR} kept for the re-run)"
                )
            except OSError:
                pass
        raise
    value = result["objective"]["value"]
    log(f"trial {result['status']}: {result['objective']['metric']}={value}")
    return result
