"""A trial's rows in memory once: rows read from the .npy without mapping it, scalers fitted in
row blocks and applied in place, checkpoints written a block at a time, batches gathered from
NumPy without a TensorFlow copy of the matrix."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from candle_lib.data.row_reader import consecutive_runs, npy_layout, read_npy_rows
from candle_lib.trial import checkpoint, scaling
from candle_lib.trial.run import (
    EVAL_BATCH_BYTES,
    EVAL_BATCH_ROWS,
    evaluation_batch_size,
)
from candle_lib.trial.scaling import SCALERS, apply_scaler, fit_scaler, scale_in_place

MATRIX = np.random.default_rng(4).normal(3.0, 2.0, size=(50, 7)).astype(np.float32)


@pytest.fixture()
def npy(tmp_path):
    path = tmp_path / "matrix.npy"
    np.save(path, MATRIX)
    return path


def test_consecutive_runs_split_where_rows_jump():
    assert consecutive_runs(np.array([3, 4, 5, 9, 10, 2, 2])) == [(0, 3), (3, 2), (5, 1), (6, 1)]
    assert consecutive_runs(np.array([], dtype=np.int64)) == []


def test_npy_layout_is_that_of_numpy(npy):
    offset, shape, dtype = npy_layout(npy)
    assert shape == (50, 7) and dtype == np.float32
    assert offset == npy.stat().st_size - MATRIX.nbytes


@pytest.mark.parametrize("rows", [[0, 1, 2, 3], [49, 0, 7, 8, 9, 7], list(range(50)), [], [12]])
def test_read_rows_equal_fancy_indexing(npy, rows):
    out = read_npy_rows(npy, rows)
    np.testing.assert_array_equal(out, MATRIX[np.asarray(rows, dtype=np.int64)])
    assert out.shape == (len(rows), 7) and out.flags.writeable and out.flags.c_contiguous


def test_read_rows_refuses_rows_out_of_range(npy):
    with pytest.raises(IndexError, match="0..49"):
        read_npy_rows(npy, [3, 50])


@pytest.mark.parametrize("kind", sorted(SCALERS))
def test_scaling_in_place_gives_the_numbers_of_a_copying_transform(kind):
    scaler = fit_scaler(kind, MATRIX[:30])
    expected = apply_scaler(scaler, MATRIX)
    values = MATRIX.copy()
    out = scale_in_place(scaler, values)
    assert out is values
    np.testing.assert_array_equal(values, expected)
    assert scaler.copy is True  # restored: the saved scaler is unchanged


def test_scale_in_place_refuses_a_read_only_array():
    scaler = fit_scaler("maxabs", MATRIX)
    frozen = MATRIX.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable float32"):
        scale_in_place(scaler, frozen)


@pytest.mark.parametrize("kind", ["maxabs", "minmax", "standard"])
def test_block_fit_equals_the_formulas(kind, monkeypatch):
    monkeypatch.setattr(scaling, "FIT_BLOCK_BYTES", 3 * MATRIX[:1].nbytes)  # blocks of 3 rows
    values = MATRIX.astype(np.float64)
    scaler = fit_scaler(kind, MATRIX)
    assert np.all(scaler.n_samples_seen_ == 50)
    if kind == "maxabs":
        np.testing.assert_array_equal(scaler.max_abs_, np.abs(values).max(axis=0))
    elif kind == "minmax":
        np.testing.assert_array_equal(scaler.data_min_, values.min(axis=0))
        np.testing.assert_array_equal(scaler.data_max_, values.max(axis=0))
    else:
        np.testing.assert_allclose(scaler.mean_, values.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(scaler.var_, values.var(axis=0), rtol=1e-10)


def test_checkpoint_arrays_written_in_blocks_load_as_npz(monkeypatch):
    monkeypatch.setattr(checkpoint, "WRITE_BLOCK_BYTES", 40)  # a block of 1 row of 10 float32
    arrays = {
        "a": np.arange(60, dtype=np.float32).reshape(6, 10),
        "s": np.float64(2.5),
        "i": np.arange(7, dtype=np.int64),
        "e": np.zeros((0, 3), np.float32),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                checkpoint._write_npy_blocks(entry, value)
    buffer.seek(0)
    with np.load(buffer) as loaded:
        for name, value in arrays.items():
            assert loaded[name].dtype == np.asarray(value).dtype
            np.testing.assert_array_equal(loaded[name], value)


def test_evaluation_batches_shrink_for_wide_inputs_only():
    assert evaluation_batch_size(20, 100) == EVAL_BATCH_ROWS  # 256 x 100 float32 = 100 kB
    assert evaluation_batch_size(20, 20_000) == EVAL_BATCH_BYTES // 80_000 == 52
    assert evaluation_batch_size(128, 20_000) == 128  # never below the training batch
    assert evaluation_batch_size(1, 10**8) == 1


def test_training_batches_are_the_rows_of_each_epochs_permutation():
    import tensorflow as tf

    from candle_lib.trial.feeds import batch_positions, eval_dataset, training_dataset

    x = MATRIX[:, :, None]  # a conv model's input shape
    y = np.arange(50, dtype=np.float32)[:, None]
    w = np.linspace(0.5, 1.5, 50)
    batches = list(training_dataset(x, y, w, batch_size=8, seed=5, start_epoch=1, epochs=3))
    positions = [p.numpy() for p in batch_positions(50, batch_size=8, seed=5, start_epoch=1, epochs=3)]
    assert len(batches) == len(positions) == 14  # 2 epochs of ceil(50 / 8)
    for (xb, yb, wb), p in zip(batches, positions):
        assert xb.shape[1:] == (7, 1)
        np.testing.assert_array_equal(xb.numpy(), x[p])
        np.testing.assert_array_equal(yb.numpy(), y[p])
        np.testing.assert_array_equal(wb.numpy(), w[p].astype(np.float32))
    epoch = np.concatenate(positions[:7])
    assert sorted(epoch.tolist()) == list(range(50))  # each epoch is a permutation
    ordered = np.concatenate([xb.numpy() for xb, _ in eval_dataset(x, y, batch_size=16)])
    np.testing.assert_array_equal(ordered, x)
    assert isinstance(next(iter(eval_dataset(x, None, batch_size=16))), tf.Tensor)


def test_unweighted_training_batches_carry_no_weight_tensor():
    from candle_lib.trial.feeds import batch_positions, training_dataset

    x = MATRIX
    y = np.arange(50, dtype=np.float32)[:, None]
    batches = list(training_dataset(x, y, None, batch_size=16, seed=2, start_epoch=0, epochs=1))
    positions = [p.numpy() for p in batch_positions(50, batch_size=16, seed=2, start_epoch=0, epochs=1)]
    assert [len(b) for b in batches] == [2, 2, 2, 2]  # (x, y): Keras weighs every row 1
    for (xb, yb), p in zip(batches, positions):
        np.testing.assert_array_equal(xb.numpy(), x[p])
        np.testing.assert_array_equal(yb.numpy(), y[p])
