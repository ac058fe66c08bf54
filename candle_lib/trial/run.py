"""Run one trial: load the prepared data, scale on training rows, build, train (resuming from a
checkpoint if one exists), evaluate, and write the trial directory of DESIGN.md section 3.

The data's kind (expression rows or drug responses) is the feed's business
(:func:`candle_lib.trial.feed_kinds.make_feed`); nothing here depends on it.

A trial whose loss diverges, that times out, or whose model code raises is a *result*: its
metrics.json says ``status: failed`` with the reason, and the function returns normally.

An error of the machine is not a result (:func:`infrastructure_error`: a full disk, an I/O
error, a read-only or stale file system, no memory, a killed worker): it is raised, so the job
fails and Snakemake's retries apply; the trial directory keeps no file that looks complete (no
metrics.json, predictions or history), only its checkpoint, from which the retry resumes.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import sys
import time
import traceback
from concurrent.futures import BrokenExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json, write_table
from candle_lib.errors import CandleInputError
from candle_lib.models.plugin import BuilderContractError
from candle_lib.params.specs import COMMAND_MODELS, model_form
from candle_lib.trial.feed_kinds import CONV_MODELS, make_feed  # noqa: F401 -- CONV_MODELS: bench/ imports it here
from candle_lib.trial.feeds import balanced_weights, steps_per_epoch
from candle_lib.trial.spec import trial_id
from candle_lib.trial.tasks import ClassificationTask, task_for

CHECKPOINT_DIR = "checkpoint"


EVAL_BATCH_ROWS = 256
# the widest tensor of an evaluation batch (its inputs, or a layer's outputs: a conv layer's are
# filters x positions per row) is held a few times over during the forward pass
EVAL_BATCH_BYTES = 4 * 2**20


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# What a failing machine says in the text of an error TensorFlow raises for it: the Python error
# of a tf.data function (a data read), or the strerror of a TensorFlow file operation.
_MACHINE_ERRNOS = (
    errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM, errno.EMFILE, errno.ENFILE,
    errno.ESTALE, errno.ENOTCONN, errno.ECONNRESET, errno.ETIMEDOUT, errno.EFBIG,
)  # fmt: skip
_MACHINE_TEXT = re.compile(
    r"\b(?:[A-Za-z]*Error): \[Errno \d+\]|\bMemoryError\b|"
    + "|".join(re.escape(os.strerror(code)) for code in _MACHINE_ERRNOS)
)


# TensorFlow's errors of a cluster whose peer is gone (a worker of a multi-worker trial killed,
# or its node lost): the collectives of the others are aborted with one of them
_PEER_ERRORS = ("UnavailableError", "DeadlineExceededError")


def infrastructure_error(exc: BaseException) -> BaseException | None:
    """The error of the machine, not of the model, that ``exc`` is or was caused by, else None.

    Classified by type along the chain of ``__cause__``/``__context__``, wherever it was raised
    (a full disk is the machine's even when model code met it): every :class:`OSError` (ENOSPC,
    EDQUOT, EIO, EROFS, EMFILE, ESTALE, ENOTCONN, a vanished or unreadable file ...),
    :class:`MemoryError`, a process pool whose worker was killed (:class:`BrokenExecutor`), and a
    TensorFlow error whose text carries one of them (tf.data wraps an error of the function that
    reads a batch into an ``UnknownError`` that keeps only its text), and TensorFlow's error of a
    lost peer (:data:`_PEER_ERRORS`: another worker of a multi-worker trial died). A NaN loss, a
    timeout and any other error of model code (a ValueError of a layer, a GPU out-of-memory error of a model
    too large for its device) are results, not infrastructure."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (OSError, MemoryError, BrokenExecutor)):
            return current
        if type(current).__module__.startswith("tensorflow") and (
            _MACHINE_TEXT.search(str(current)) or type(current).__name__ in _PEER_ERRORS
        ):
            return current
        pending += [current.__context__, current.__cause__]
    return None


# what a finished trial writes besides its inputs (params.json, scaler.json) and its log
RESULT_FILES = ("metrics.json", "predictions.parquet", "history.csv", "model.keras")


def discard_results(out_dir: Path) -> None:
    """Remove the files that would make a stopped trial look finished; its checkpoint stays."""
    for name in RESULT_FILES:
        try:
            (out_dir / name).unlink(missing_ok=True)
        except OSError:  # a read-only file system: then nothing new was written either
            pass


def _log_quietly(log, message: str) -> None:
    """Log, unless the log itself cannot be written (its disk may be the one that is full)."""
    try:
        log(message)
    except OSError:
        pass


def evaluation_batch_size(batch_size: int, n_values: int) -> int:
    """Rows per validation/prediction batch: up to EVAL_BATCH_ROWS, as long as a batch of the
    widest float32 tensor, ``n_values`` per row (:func:`widest_row`), stays within
    EVAL_BATCH_BYTES (wide data and wide layers get smaller batches), never below the training
    batch size."""
    fitting = EVAL_BATCH_BYTES // max(1, 4 * n_values)
    return max(batch_size, min(EVAL_BATCH_ROWS, fitting))


def widest_row(model, n_inputs: int) -> int:
    """Values per row of the widest tensor of ``model``'s forward pass: its ``n_inputs`` or the
    output of one of its layers (NT3's first Conv1D: filters x positions, 128 x 5,981 on 6,000
    features). Layers whose output shape is not known (a subclassed model's) are passed over."""
    import keras

    widest = n_inputs
    for layer in model.layers:
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # never called on a symbolic input
            continue
        for tensor in outputs:
            tail = tuple(tensor.shape[1:])
            if all(isinstance(size, int) for size in tail):
                widest = max(widest, int(np.prod(tail, dtype=np.int64)))
    return widest


def _optimizer(name: str, learning_rate: float):
    import keras

    classes = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    return classes[name](learning_rate=learning_rate)


def _strategy(params: dict):
    """Data-parallel over all GPUs (or all logical CPUs when there is no GPU) for 'mirrored'; over
    the workers of TF_CONFIG for 'multi_worker' (:mod:`.multi_worker`)."""
    import tensorflow as tf

    if params["strategy"] == "multi_worker":
        from candle_lib.trial.multi_worker import multi_worker_strategy

        return multi_worker_strategy()
    if params["strategy"] != "mirrored":
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


class TrialRun:
    """One trial, in the order it runs: load (on creation), :meth:`scale`, :meth:`build`,
    :meth:`resume`, :meth:`train`, :meth:`predict`, :meth:`write`; see :func:`run_trial`.

    ``worker``: this process's place among the workers of a multi-worker trial (None: it trains
    alone). Only the chief (rank 0) writes the trial directory; another worker writes its
    scaler into ``out_dir`` (a scratch directory) and only reads the chief's checkpoint, in
    ``checkpoint_dir``, to resume from the same epoch."""

    def __init__(
        self, dataset_dir, spec: dict, out_dir: Path, threads: int, log, init_model=None, *,
        worker=None, checkpoint_dir: Path | None = None,
    ):  # fmt: skip
        from candle_lib.trial.tf_setup import configure_tensorflow

        self.spec, self.params, self.role = spec, spec["params"], spec["role"]
        self.out_dir, self.threads, self.log = out_dir, threads, log
        self.worker = worker
        self.writes = worker is None or worker.is_chief
        self.checkpoint_dir = checkpoint_dir or out_dir / CHECKPOINT_DIR
        self.init_model, self.model, self.optimizer = init_model, None, None
        if "init" in self.role and init_model is None:
            raise CandleInputError(
                f"the role starts from trial {self.role['init']}: give its model.keras", where="role.init"
            )
        self.setup = configure_tensorflow(
            threads,
            self.params["rng_seed"],
            mixed_precision=self.params["mixed_precision"],
            deterministic=not self.params["jit_compile"],
            log=log,
        )
        self.device = self.setup.device
        self.strategy = _strategy(self.params)  # first: a multi-worker strategy sets up TensorFlow's cluster
        self.feed = make_feed(dataset_dir, self.params, self.role)
        self.task = task_for(self.params, self.feed.classes, self.feed.encoding, self.feed.n_features)
        self.validate_during_training = self.role["eval"] != "test"  # the test split is seen once, at the end
        self.replicas = 0  # set when the model is built
        self.eval_batch = evaluation_batch_size(self.params["batch_size"], self.feed.input_width())
        self.validation_outputs = None  # the last validation pass's outputs, when kept (train)
        self.weights_epoch = None  # the epoch whose weights were restored after training, if any

    def scale(self) -> None:
        """Inputs scaled by a scaler fitted on the training rows (saved as scaler.json), targets."""
        self.feed.scale(self.task, self.out_dir)

    def compiled_model(self, log=None):
        """The trial's model, built and compiled (a builder of the user's may compile it: then its
        optimizer, loss and metrics are kept), its optimizer built."""
        from candle_lib.models import build_model

        model = build_model(
            self.params, self.feed.input_width(), self.task.n_outputs, output_activation=self.task.output_activation
        )
        if model.compiled:
            optimizer = model.optimizer
            if log:
                log(f"the model comes compiled: keeping its compile (optimizer {type(optimizer).__name__})")
        else:
            optimizer = _optimizer(self.params["optimizer"], self.params["learning_rate"])
            model.compile(
                optimizer=optimizer,
                loss=self.task.loss,
                metrics=self.task.keras_metrics,
                jit_compile=self.params["jit_compile"],
            )
        if not optimizer.built:  # its variables exist before a checkpoint restores them
            optimizer.build(model.trainable_variables)
        return model

    def build(self) -> None:
        from candle_lib.trial.metrics_build import build_compiled_metrics

        self.replicas = self.strategy.num_replicas_in_sync
        with self.strategy.scope():
            model = self.compiled_model(self.log)
            build_compiled_metrics(model)  # the training step traced once, not twice
        self.model, self.optimizer = model, model.optimizer
        self.eval_batch = evaluation_batch_size(self.params["batch_size"], widest_row(model, self.feed.input_width()))

    def local_model(self):
        """The trained model, for predicting and saving in this process alone: the model itself,
        or, trained over several workers, a copy outside their strategy (predicting with theirs
        would need every worker)."""
        if self.worker is None:
            return self.model
        model = self.compiled_model()
        model.set_weights(self.model.get_weights())
        return model

    def resume(self, monitor, tracker) -> int:
        """The epoch training starts at: that of a checkpoint of this same trial (its weights,
        optimizer, tracker and history restored), else 0, from the ``init`` model's weights when
        the role fine-tunes."""
        from candle_lib.trial.checkpoint import load_checkpoint, restore_checkpoint

        ckpt_dir = self.checkpoint_dir
        state = load_checkpoint(ckpt_dir)
        if state is not None and state.get("fingerprint") != trial_id(self.spec):
            self.log("ignoring a checkpoint of another trial")
            if self.writes:
                shutil.rmtree(ckpt_dir, ignore_errors=True)
            state = None
        if state is None:
            if self.init_model is not None:
                self.start_from(self.init_model)
            return 0
        best = restore_checkpoint(ckpt_dir, state, self.model, self.optimizer)
        tracker.load(state["tracker"], best)
        columns = state.get("history_columns") or []
        monitor.rows = [{c: row[c] for c in columns if c in row} | row for row in state["history"]]
        monitor.start = time.monotonic() - state["elapsed"]
        self.log(f"resuming from the checkpoint at epoch {state['epoch']}")
        return state["epoch"]

    def start_from(self, path) -> None:
        """Fine-tuning: start from the weights of a saved model of the same architecture."""
        import keras

        from candle_lib.models.plugin import import_plugin

        import_plugin(self.params)  # a model of the user's: its custom layers registered before the load
        source = keras.saving.load_model(path, compile=False, safe_mode=True)
        self.model.set_weights(source.get_weights())
        self.log(f"starting from the weights of {path}")

    def train(self, monitor, tracker, start_epoch: int) -> None:
        """Fit from ``start_epoch`` to the last epoch, checkpointing; keep the best epoch's weights
        under early stopping. A worker of a multi-worker trial trains on its share of every batch
        (:func:`candle_lib.trial.multi_worker.fit_over_workers`), the others with ``model.fit``."""
        from candle_lib.trial.callbacks import Checkpointer
        from candle_lib.trial.validation_outputs import ValidationOutputs

        params, feed = self.params, self.feed
        epochs, batch = params["epochs"], params["batch_size"]
        every = params["checkpoint_every"] if self.writes else 0  # only the chief of several workers writes
        if start_epoch < epochs:
            checkpointer = Checkpointer(self.checkpoint_dir, every, epochs, monitor, tracker, trial_id(self.spec))
            callbacks = [monitor, tracker, checkpointer]
            if self.keeps_validation_outputs():
                self.validation_outputs = ValidationOutputs(len(feed.eval_rows)).attach(self.model)
                callbacks.append(self.validation_outputs)
            training = functools.partial(
                feed.training,
                self.sample_weights(),
                batch_size=batch,
                seed=params["rng_seed"],
                start_epoch=start_epoch,
                epochs=epochs,
            )
            validation = functools.partial(feed.evaluation, self.eval_batch) if self.validate_during_training else None
            steps = steps_per_epoch(feed.n_train, batch)
            try:
                if self.worker is not None:
                    from candle_lib.trial.multi_worker import fit_over_workers

                    fit_over_workers(
                        self.model, self.strategy, training=training, validation=validation, epochs=epochs,
                        initial_epoch=start_epoch, steps=steps,
                        eval_steps=steps_per_epoch(len(feed.eval_rows), self.eval_batch),
                        callbacks=callbacks, monitor=monitor, tracker=tracker,
                    )  # fmt: skip
                else:
                    self.model.fit(
                        training(),
                        epochs=epochs,
                        initial_epoch=start_epoch,
                        steps_per_epoch=steps,
                        validation_data=validation() if validation else None,
                        shuffle=False,  # the dataset shuffles, per epoch, from the seed
                        verbose=0,
                        callbacks=callbacks,
                    )
            finally:  # however training ended: the checkpoint being written is complete, or its error raised
                checkpointer.wait()
                if self.validation_outputs is not None:
                    ValidationOutputs.detach(self.model)
        if params["early_stopping"] and tracker.best_weights is not None:
            self.model.set_weights(tracker.best_weights)
            self.weights_epoch = tracker.best_epoch

    def keeps_validation_outputs(self) -> bool:
        """Whether the last validation pass can stand for the prediction of the eval rows
        (:mod:`.validation_outputs`): the trial validates on the rows it predicts and nothing
        else, in this one process on one replica, and no step after fit changes the weights
        (an optimizer's moving average) or runs the model otherwise (XLA)."""
        return (
            self.validate_during_training
            and self.worker is None
            and self.replicas == 1
            and len(self.feed.predicted_rows) == len(self.feed.eval_rows)
            and not getattr(self.optimizer, "use_ema", False)
            and not self.model.jit_compile
        )

    def sample_weights(self) -> np.ndarray | None:
        """Per-row weights of class_weight: balanced; None (all rows alike) otherwise."""
        if self.params["class_weight"] == "balanced" and isinstance(self.task, ClassificationTask):
            codes = self.feed.samples["label_code"].to_numpy()[self.feed.train_rows]
            return balanced_weights(codes, len(self.feed.classes))
        return None

    def predict(self, model) -> np.ndarray:
        """``model``'s outputs for the predicted rows (eval rows first): those of the last
        validation pass when it ran with the model's final weights over the same rows, in the
        same batches (the same numbers), else a prediction pass."""
        if self.validation_outputs is not None:
            kept = self.validation_outputs.current(self.weights_epoch)
            if kept is not None:
                return kept
        return np.asarray(model.predict(self.feed.prediction(self.eval_batch), verbose=0), dtype=np.float64)

    @property
    def saves_model(self) -> bool:
        return bool(self.role.get("save_model")) or self.role["kind"] == "final"

    def write(self, outputs: np.ndarray, reason: str | None, monitor, tracker, started: float) -> dict:
        """predictions.parquet, history.csv and, last, metrics.json; the checkpoint removed.
        Outputs that are not finite, or not one row per predicted row, are neither scored nor
        written."""
        feed, out_dir = self.feed, self.out_dir
        status = "ok" if reason is None else "failed"
        finite = len(outputs) == len(feed.predicted_rows) and bool(np.all(np.isfinite(outputs)))
        metrics = feed.scores(self.task, outputs) if finite else {}
        write_table(out_dir / "predictions.parquet", feed.predictions(self.task, outputs if finite else outputs[:0]))
        write_table(out_dir / "history.csv", pd.DataFrame(monitor.rows, columns=None if monitor.rows else ["epoch"]))
        loss_name = f"{feed.prefix}_loss" if isinstance(self.task, ClassificationTask) else f"{feed.prefix}_mse"
        result = {
            "status": status,
            "failure_reason": reason,
            "objective": {"metric": loss_name, "direction": "minimize", "value": metrics.get(loss_name)},
            "metrics": metrics,
            "epochs_run": len(monitor.rows),
            "best_epoch": tracker.best_epoch or None,
            "stopped_early": tracker.stopped_early,
            "wall_seconds": round(time.monotonic() - started, 3),
            "role": self.role["kind"],
            "n_train": int(len(feed.train_rows)),
            "n_eval": int(len(feed.eval_rows)),
            "device": self.device,
            "tensorflow": self.setup.tensorflow,
            "precision": self.setup.precision,
            "replicas": self.replicas,
            "workers": 1 if self.worker is None else self.worker.size,
            "threads": self.threads,
        }
        write_json(out_dir / "metrics.json", result)
        shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
        return result


def run_trial(
    dataset_dir, spec: dict, out_dir, *, threads: int = 1, log=_log_to_stderr, init_model=None,
    worker=None, checkpoint_dir=None,
) -> dict:  # fmt: skip
    """Train and evaluate one trial; write params.json, scaler.json, history.csv,
    predictions.parquet, model.keras (roles that save the model, see :mod:`.roles`) and, last,
    metrics.json into ``out_dir``. Returns the metrics dict. ``init_model``: the saved model
    whose weights a fine-tuning role (``init``) starts from.

    If ``out_dir/checkpoint`` holds a checkpoint of this same trial (e.g. the job was killed),
    training resumes from it and ends with the metrics of an uninterrupted run.

    A model that diverges, runs out of time or raises makes a failed trial, not an error; bad
    input (the dataset, the role, a builder of the user's that breaks its contract:
    :class:`~candle_lib.models.plugin.BuilderContractError`) raises
    :class:`~candle_lib.errors.CandleInputError`; an error
    of the machine (:func:`infrastructure_error`) is raised as it is, after removing what would
    look finished (:data:`RESULT_FILES`): the checkpoint stays, for the retry.

    ``worker`` (:class:`candle_lib.hpc.workers.Worker`): this process is one of the workers of a
    multi-worker trial (:mod:`.multi_worker`). The chief writes ``out_dir`` as above; any other
    worker is given a scratch ``out_dir`` and the chief's ``checkpoint_dir`` (read to resume
    from the same epoch), trains with the others, and returns {"worker", "status",
    "failure_reason"} without predicting or writing a result.
    """
    if model_form(spec["params"]["model"]) in COMMAND_MODELS:  # out of process, in any framework
        from candle_lib.trial.command import run_command_trial

        return run_command_trial(dataset_dir, spec, out_dir, threads=threads, log=log)
    # imports Keras, hence TensorFlow: first, before configure_tensorflow, as it always has
    from candle_lib.trial.callbacks import PlateauTracker, TrialMonitor

    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "params.json", spec)
    run = TrialRun(
        dataset_dir, spec, out_dir, threads, log, init_model=init_model, worker=worker, checkpoint_dir=checkpoint_dir
    )
    feed = run.feed
    log(
        f"trial: {len(feed.train_rows)} training rows, {len(feed.eval_rows)} {feed.prefix} rows, {feed.n_features} features, device {run.device}"
    )

    params = run.params
    monitor = TrialMonitor(params["epochs"], params["timeout"], log=log)
    tracker = PlateauTracker(
        "val_loss" if run.validate_during_training else "loss", params["early_stopping"], params["reduce_lr"], log=log
    )
    outputs = np.zeros((0, run.task.n_outputs))
    reason = None
    try:
        try:
            run.scale()
            run.build()
            start_epoch = run.resume(monitor, tracker)
            run.train(monitor, tracker, start_epoch)
            reason = monitor.stop_reason
            if run.writes:
                model = run.local_model()
                outputs = run.predict(model)
                if reason is None and not np.all(np.isfinite(outputs)):
                    reason = "predictions are not finite"
                if reason is None and run.saves_model:
                    model.save(out_dir / "model.keras")
        except Exception as exc:  # noqa: BLE001 -- a model error is a trial result, not a crash
            if infrastructure_error(exc) is not None or isinstance(exc, BuilderContractError):
                raise  # the machine's error, or a builder that breaks its contract (bad input, every trial alike)
            reason = f"{type(exc).__name__}: {exc}"
            log(traceback.format_exc())
        if reason:
            log(f"trial failed: {reason}")
        if not run.writes:  # a worker of the chief's: the chief writes the result
            return {"worker": worker.rank, "status": "failed" if reason else "ok", "failure_reason": reason}
        result = run.write(outputs, reason, monitor, tracker, started)
    except BaseException as exc:  # the machine failed (or the job was stopped): no result
        discard_results(out_dir)
        cause = infrastructure_error(exc)
        if cause is not None:
            kept = "kept" if (out_dir / CHECKPOINT_DIR / "state.json").exists() else "none yet"
            _log_quietly(
                log,
                f"trial stopped by an infrastructure error, not a result: {type(cause).__name__}: {cause} "
                f"(nothing recorded; checkpoint {kept}: a re-run resumes from it)",
            )
        raise
    metrics = result["metrics"]
    log(f"trial {result['status']}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float)))
    return result


def run_bundle(dataset_dir, specs: dict, trials_root, *, threads: int = 1, log=_log_to_stderr) -> dict:
    """Run several trials of one prepared dataset one after another in this process (a bundle,
    ``hpo.trials_per_job``): each into ``trials_root/<trial id>`` with its own trial.log. A
    finished one (metrics.json newer than the dataset) is left as it is; its status is read back.
    Returns {trial id: status}.

    An error of the machine in a trial (:func:`infrastructure_error`) stops the bundle there and
    is raised: the trials finished before it keep their results, the stopped one records
    nothing (its checkpoint stays), and the retried bundle job picks up from it."""
    from candle_lib.search.bundles import is_finished

    statuses = {}
    for position, (tid, spec) in enumerate(specs.items(), start=1):
        out_dir = Path(trials_root) / tid
        if is_finished(out_dir, Path(dataset_dir) / "manifest.json"):
            statuses[tid] = json.loads((out_dir / "metrics.json").read_text())["status"]
            log(f"[{position}/{len(specs)}] {tid}: finished before, not run again")
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "trial.log", "a", buffering=1) as trial_log:

            def to_trial_log(message, handle=trial_log):
                print(message, file=handle)

            try:
                result = run_trial(dataset_dir, spec, out_dir, threads=threads, log=to_trial_log)
            except Exception as exc:
                if infrastructure_error(exc) is not None:
                    _log_quietly(
                        log,
                        f"[{position}/{len(specs)}] {tid}: stopped by an infrastructure error ({type(exc).__name__}: "
                        f"{exc}); {position - 1} trial(s) before it kept, the bundle job fails",
                    )
                raise
        statuses[tid] = result["status"]
        value = result["objective"]["value"]
        log(f"[{position}/{len(specs)}] {tid}: {result['status']}, {result['objective']['metric']}={value}")
    return statuses
