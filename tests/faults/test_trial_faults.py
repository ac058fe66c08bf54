"""Faults of the machine during a trial are not results; faults of the model are.

A full disk (a real one: a tiny tmpfs filled up while the trial trains), an I/O error of a
writer, a data read failing inside tf.data: the trial raises, leaves no file that looks finished,
keeps its checkpoint, and the retry ends with exactly the result of an uninterrupted run. A
ValueError of model code stays a recorded failed trial. ``candle retry-failed`` moves failed
trials aside so that the next run re-runs them.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from concurrent.futures.process import BrokenProcessPool

import pandas as pd
import pytest

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_id, trial_spec

EPOCHS = 4
TINY_MODEL = {
    "conv": [4, 10, 1],
    "pool": [5],
    "dense": [8],
    "dropout": 0.2,  # the dropout RNG state goes through the checkpoint too
    "epochs": EPOCHS,
    "batch_size": 8,
    "optimizer": "adam",
    "scaling": "standard",
    "checkpoint_every": 1,
}
RESULT_FILES = ("metrics.json", "predictions.parquet", "history.csv")


def spec(**changes) -> dict:
    return trial_spec(resolve_params(TINY_MODEL, changes), role=HOLDOUT, data="prep-00000000")


def run(dataset, out, trial, messages=None):
    from candle_lib.trial.run import run_trial

    return run_trial(dataset, trial, out, threads=1, log=(messages if messages is not None else []).append)


def checkpoint_epoch(out) -> int | None:
    state = out / "checkpoint" / "state.json"
    return json.loads(state.read_text())["epoch"] if state.exists() else None


def assert_same_result(out, reference):
    """metrics.json equal but for wall_seconds; history equal but for the seconds per epoch;
    predictions equal: training on CPU is deterministic, through a resume too."""
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (out, reference))
    assert a.pop("wall_seconds") > 0 and b.pop("wall_seconds") > 0
    assert a == b
    assert a["status"] == "ok" and a["epochs_run"] == EPOCHS
    history = [pd.read_csv(d / "history.csv").drop(columns="seconds") for d in (out, reference)]
    pd.testing.assert_frame_equal(*history)
    pd.testing.assert_frame_equal(*(pd.read_parquet(d / "predictions.parquet") for d in (out, reference)))


@pytest.fixture(scope="module")
def reference(tiny_prepared, tmp_path_factory):
    """The trial every retry must reproduce, run once, uninterrupted, on the ordinary disk."""
    out = tmp_path_factory.mktemp("reference") / trial_id(spec())
    assert run(tiny_prepared, out, spec())["status"] == "ok"
    return out


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs of its own, as the trial directory's file system."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    yield mount_point
    if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk) -> None:
    """Write a filler file until the file system has not one free byte left (a real ENOSPC)."""
    chunk = b"\0" * 2**16
    with open(disk / "filler", "wb", buffering=0) as handle:
        while chunk:
            try:
                handle.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk = chunk[: len(chunk) // 2]
    assert shutil.disk_usage(disk).free == 0


@pytest.mark.parametrize("full_after", [1, EPOCHS], ids=["full-while-checkpointing", "full-while-writing-outputs"])
def test_a_full_disk_fails_the_trial_and_the_retry_gives_the_uninterrupted_result(
    tiny_prepared, reference, small_disk, monkeypatch, full_after
):
    """The disk fills up after the checkpoint of epoch ``full_after``: at epoch 1 the next
    checkpoint cannot be written; at the last epoch the predictions cannot."""
    import candle_lib.trial.callbacks as callbacks

    save_checkpoint = callbacks.save_checkpoint

    def save_then_fill(directory, *args, epoch, **kwargs):
        save_checkpoint(directory, *args, epoch=epoch, **kwargs)
        if epoch == full_after:
            fill(small_disk)

    monkeypatch.setattr(callbacks, "save_checkpoint", save_then_fill)
    out = small_disk / trial_id(spec())
    messages = []
    with pytest.raises(OSError) as raised:
        run(tiny_prepared, out, spec(), messages)
    assert raised.value.errno == errno.ENOSPC
    assert [name for name in RESULT_FILES if (out / name).exists()] == []  # nothing looks finished
    assert checkpoint_epoch(out) == full_after  # the last complete checkpoint, for the retry
    assert not any(p.name.startswith(".") for p in (out / "checkpoint").iterdir())  # no temporary left
    # (pyarrow words its ENOSPC as "[Errno 28] Error writing bytes to file. Detail: ...")
    stopped = [m for m in messages if m.startswith("trial stopped by an infrastructure error")]
    assert len(stopped) == 1
    assert stopped[0].startswith("trial stopped by an infrastructure error, not a result: OSError: [Errno 28] ")
    assert stopped[0].endswith("No space left on device (nothing recorded; checkpoint kept: a re-run resumes from it)")
    assert not any(m.startswith("trial failed") for m in messages)

    monkeypatch.undo()
    (small_disk / "filler").unlink()  # space freed
    messages = []
    assert run(tiny_prepared, out, spec(), messages)["status"] == "ok"
    assert f"resuming from the checkpoint at epoch {full_after}" in messages
    assert_same_result(out, reference)
    assert not (out / "checkpoint").exists()


def test_an_io_error_stops_a_bundle_keeping_the_trials_before_it(tiny_prepared, reference, tmp_path, monkeypatch):
    import candle_lib.trial.run as trial_run

    specs = {trial_id(s): s for s in (spec(learning_rate=0.01), spec(), spec(learning_rate=0.003))}
    first, broken, last = specs
    write_json = trial_run.write_json

    def eio_on_metrics(path, obj):
        if path == tmp_path / broken / "metrics.json":
            raise OSError(errno.EIO, "Input/output error", str(path))
        write_json(path, obj)

    monkeypatch.setattr(trial_run, "write_json", eio_on_metrics)
    messages = []
    with pytest.raises(OSError) as raised:
        trial_run.run_bundle(tiny_prepared, specs, tmp_path, log=messages.append)
    assert raised.value.errno == errno.EIO
    assert json.loads((tmp_path / first / "metrics.json").read_text())["status"] == "ok"  # kept
    assert [name for name in RESULT_FILES if (tmp_path / broken / name).exists()] == []
    assert checkpoint_epoch(tmp_path / broken) == EPOCHS
    assert not (tmp_path / last).exists()  # the bundle stopped there
    assert messages[1] == (
        f"[2/3] {broken}: stopped by an infrastructure error (OSError: [Errno 5] Input/output error: "
        f"'{tmp_path / broken / 'metrics.json'}'); 1 trial(s) before it kept, the bundle job fails"
    )

    monkeypatch.undo()  # the retried bundle job
    messages = []
    assert trial_run.run_bundle(tiny_prepared, specs, tmp_path, log=messages.append) == dict.fromkeys(specs, "ok")
    assert messages[0] == f"[1/3] {first}: finished before, not run again"
    assert "resuming from the checkpoint at epoch 4" in (tmp_path / broken / "trial.log").read_text()
    assert_same_result(tmp_path / broken, reference)


def test_a_data_read_error_inside_tf_data_is_infrastructure(tiny_prepared, tmp_path, monkeypatch):
    """A batch read failing with EIO reaches the trial as TensorFlow's UnknownError, which keeps
    only the text of the OSError; the trial is still stopped, not recorded."""
    import candle_lib.trial.feeds as feeds
    from candle_lib.trial.run import infrastructure_error

    reads = []

    def failing_gather(values):
        import tensorflow as tf

        def gather(idx):
            def read(positions):
                reads.append(len(positions))
                if len(reads) == 3:
                    raise OSError(errno.EIO, "Input/output error")
                return values[positions]

            rows = tf.numpy_function(read, [idx], tf.as_dtype(values.dtype), stateful=False)
            rows.set_shape([None, *values.shape[1:]])
            return rows

        return gather

    monkeypatch.setattr(feeds, "row_gather", failing_gather)
    with pytest.raises(Exception) as raised:
        run(tiny_prepared, tmp_path, spec())
    assert type(raised.value).__name__ == "UnknownError"
    assert infrastructure_error(raised.value) is raised.value
    assert "OSError: [Errno 5] Input/output error" in str(raised.value)
    assert [name for name in RESULT_FILES if (tmp_path / name).exists()] == []


def test_a_value_error_of_model_code_is_a_recorded_failed_trial(tiny_prepared, tmp_path, monkeypatch):
    def bad_build(params, n_features, n_outputs, **kwargs):
        raise ValueError("dense width -3 is not positive")

    monkeypatch.setattr("candle_lib.models.build_model", bad_build)
    result = run(tiny_prepared, tmp_path, spec())
    assert result["status"] == "failed"
    assert result["failure_reason"] == "ValueError: dense width -3 is not positive"
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "failed" and saved["failure_reason"] == result["failure_reason"]
    assert saved["metrics"] == {} and len(pd.read_parquet(tmp_path / "predictions.parquet")) == 0


def test_a_full_disk_met_by_model_code_is_still_infrastructure(tiny_prepared, tmp_path, monkeypatch):
    """Classified by the error's chain, not by where it was raised."""

    def build_on_full_disk(params, n_features, n_outputs, **kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise ValueError("could not cache the layer") from exc

    monkeypatch.setattr("candle_lib.models.build_model", build_on_full_disk)
    with pytest.raises(ValueError, match="could not cache the layer"):
        run(tiny_prepared, tmp_path, spec())
    assert [name for name in RESULT_FILES if (tmp_path / name).exists()] == []


def test_an_interrupt_passes_through_and_records_nothing(tiny_prepared, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("candle_lib.models.build_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_prepared, tmp_path, spec())
    assert [name for name in RESULT_FILES if (tmp_path / name).exists()] == []


def _caused(error, cause):
    error.__cause__ = cause
    return error


def _in_handling(error, context):
    error.__context__ = context
    return error


@pytest.mark.parametrize(
    ("error", "machine"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EROFS, "Read-only file system"), True),
        (OSError(errno.EMFILE, "Too many open files"), True),
        (OSError(errno.ESTALE, "Stale file handle"), True),
        (MemoryError(), True),
        (BrokenProcessPool("a child process terminated abruptly"), True),
        (_caused(RuntimeError("save failed"), OSError(errno.EIO, "Input/output error")), True),
        (_in_handling(KeyError("x"), _caused(ValueError("y"), MemoryError())), True),
        (ValueError("conv width 500 is longer than its input"), False),
        (FloatingPointError("overflow"), False),
        (_caused(ValueError("bad"), KeyError("a")), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_errors_are_classified_by_type_along_their_chain(error, machine):
    from candle_lib.trial.run import infrastructure_error

    assert (infrastructure_error(error) is not None) is machine


def test_tensorflow_errors_are_classified_by_what_they_carry():
    import tensorflow as tf

    from candle_lib.trial.run import infrastructure_error

    wrapped = tf.errors.UnknownError(None, None, "Error in user-defined function: OSError: [Errno 28] No space left")
    written = tf.errors.ResourceExhaustedError(None, None, "/scratch/x; No space left on device")
    gpu_oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[4096,4096]")
    assert infrastructure_error(wrapped) is wrapped
    assert infrastructure_error(written) is written
    assert infrastructure_error(gpu_oom) is None  # a model too large for its device is a result


# ---- candle retry-failed


def _trial(results, tid, status, reason=None):
    directory = results / "trials" / tid
    directory.mkdir(parents=True)
    (directory / "params.json").write_text("{}\n")
    (directory / "metrics.json").write_text(json.dumps({"status": status, "failure_reason": reason}))
    return directory


def test_retry_failed_moves_failed_trials_aside_and_their_bundle_records(tmp_path, monkeypatch, capsys):
    import time

    from candle_lib import cli

    monkeypatch.setattr(time, "gmtime", lambda *args: time.struct_time((2026, 12, 3, 9, 5, 7, 3, 337, 0)))
    results = tmp_path / "results"
    ok = _trial(results, "t-ok0000000001", "ok")
    _trial(results, "t-bad000000002", "failed", "OSError: [Errno 28] No space left on device")
    _trial(results, "t-bad000000003", "failed", "timeout: training exceeded 60 s at epoch 2")
    (results / "trials" / "t-running00004").mkdir()  # no metrics.json yet: not touched
    bundles = results / "hpo" / "bundles"
    bundles.mkdir(parents=True)
    (bundles / "bundle-aaa.json").write_text(json.dumps({"t-ok0000000001": "ok", "t-bad000000002": "failed"}))
    (bundles / "bundle-bbb.json").write_text(json.dumps({"t-ok0000000001": "ok"}))
    before = sorted(str(p.relative_to(results)) for p in results.rglob("*"))

    assert cli.main(["retry-failed", str(results), "--dry-run"]) == 0
    aside = results / "trials" / ".failed"
    assert capsys.readouterr().out.splitlines() == [
        "would move 2 failed trial(s) aside:",
        f"  t-bad000000002 -> {aside}/t-bad000000002.20261203T090507Z  (OSError: [Errno 28] No space left on device)",
        f"  t-bad000000003 -> {aside}/t-bad000000003.20261203T090507Z  (timeout: training exceeded 60 s at epoch 2)",
        f"would remove the bundle record {bundles}/bundle-aaa.json",
    ]
    assert sorted(str(p.relative_to(results)) for p in results.rglob("*")) == before  # nothing moved

    assert cli.main(["retry-failed", str(results)]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"removed the bundle record {bundles}/bundle-aaa.json",
        "the next snakemake run (the same command as before) re-runs these trials and re-aggregates the search",
    ]
    assert sorted(p.name for p in (results / "trials").iterdir()) == [".failed", "t-ok0000000001", "t-running00004"]
    moved = aside / "t-bad000000002.20261203T090507Z"
    assert sorted(p.name for p in moved.iterdir()) == ["metrics.json", "params.json"]  # nothing lost
    assert json.loads((moved / "metrics.json").read_text())["status"] == "failed"
    assert sorted(p.name for p in aside.iterdir()) == [
        "t-bad000000002.20261203T090507Z",
        "t-bad000000003.20261203T090507Z",
    ]
    assert sorted(p.name for p in bundles.iterdir()) == ["bundle-bbb.json"]
    assert (ok / "metrics.json").exists()

    assert cli.main(["retry-failed", str(results)]) == 0  # again: nothing left to retry
    assert capsys.readouterr().out == f"no failed trials in {results / 'trials'}\n"


def test_retry_failed_without_a_results_folder_is_one_clear_error(tmp_path, capsys):
    from candle_lib import cli

    assert cli.main(["retry-failed", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == (
        f"candle: error: {tmp_path / 'nowhere'}: no trials folder (RESULTS/trials) here: give the study's results folder\n"
    )


def test_candle_trial_stopped_by_a_full_disk_says_so_in_one_line(tiny_prepared, tmp_path, monkeypatch, capsys):
    from candle_lib import cli

    def full_disk(dataset_dir, spec, out_dir, *, threads, log):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("candle_lib.trial.run.run_trial", full_disk)
    assert cli.main(["trial", "--data", str(tiny_prepared), "--out", str(tmp_path)]) == 3
    trial_dir = next(tmp_path.iterdir())
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"candle: error: trial {trial_dir.name} stopped by the machine, not a result: OSError: [Errno 28] No space "
        "left on device; nothing recorded: run the same command again to resume from its checkpoint"
    )
    assert not (trial_dir / "metrics.json").exists()
