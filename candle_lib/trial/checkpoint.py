"""Trial checkpoints: every variable of the model (weights and the dropout/sampling RNG
states), the optimizer's variables, the best weights so far, the epoch reached, the history and
the state of the stateful callbacks.

Written atomically: the arrays go to a new file first, then ``state.json`` (which names that
file) is replaced, then older array files are removed; a kill at any moment leaves a complete
previous or new checkpoint.

The arrays are taken (:func:`checkpoint_arrays`) and written (:func:`save_checkpoint`) in two
steps, so that the writing can go on in a thread while training goes on
(:class:`candle_lib.trial.callbacks.Checkpointer`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from candle_lib.atomic import atomic_path, write_json

STATE = "state.json"


def _variables(model, optimizer):
    return list(model.variables) + list(optimizer.variables)


WRITE_BLOCK_BYTES = 2**20


def _write_npy_blocks(handle, value) -> None:
    """Write ``value`` (a variable or array) to ``handle`` as one .npy, WRITE_BLOCK_BYTES at a time."""
    shape, dtype = tuple(value.shape), np.dtype(getattr(value.dtype, "as_numpy_dtype", value.dtype))
    np.lib.format.write_array_header_1_0(
        handle, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    if not shape:
        handle.write(np.asarray(value, dtype=dtype).tobytes())
        return
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize)
    rows = max(1, WRITE_BLOCK_BYTES // row_bytes)
    for start in range(0, shape[0], rows):
        handle.write(np.ascontiguousarray(np.asarray(value[start : start + rows], dtype=dtype)).data)


def checkpoint_arrays(model, optimizer, best_weights=None) -> list[tuple[str, np.ndarray]]:
    """The arrays of a checkpoint as they are now: every variable's value, then the best weights.

    No value is copied: a variable's array shares the variable's buffer, and TensorFlow copies
    a variable's buffer before it updates one that something else still references (copy on
    write), so the arrays keep the values of this moment while training goes on."""
    import tensorflow as tf

    named = [(f"v{i}", np.asarray(tf.convert_to_tensor(v.value))) for i, v in enumerate(_variables(model, optimizer))]
    return named + [(f"b{i}", w) for i, w in enumerate(best_weights or [])]


def save_checkpoint(directory, named: list, *, epoch: int, extra: dict) -> None:
    """Write the checkpoint of ``epoch``: the ``named`` arrays of :func:`checkpoint_arrays`,
    then the state (``extra``: the history and the callbacks' state). Each array is let go once
    written (the list is emptied), so a buffer the variable no longer uses is freed early."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    arrays = f"variables-{epoch:06d}.npz"
    with atomic_path(d / arrays) as tmp:
        # the .npz layout of np.savez, written piece by piece, a block of rows at a time from
        # the arrays as they are: a checkpoint of a large model needs no second copy of its weights
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            named.reverse()
            while named:
                name, value = named.pop()
                with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                    _write_npy_blocks(entry, value)
                del value
    write_json(d / STATE, {"epoch": epoch, "arrays": arrays, **extra})
    for old in d.glob("variables-*.npz"):
        if old.name != arrays:
            old.unlink()


def load_checkpoint(directory) -> dict | None:
    """The saved state, or None when there is no checkpoint."""
    state_path = Path(directory) / STATE
    if not state_path.exists():
        return None
    return json.loads(state_path.read_text())


def restore_checkpoint(directory, state: dict, model, optimizer) -> list[np.ndarray] | None:
    """Assign the saved values (the optimizer must be built on the model's trainable
    variables) and return the saved best weights, if any."""
    with np.load(Path(directory) / state["arrays"]) as saved:
        values = [saved[f"v{i}"] for i in range(sum(k.startswith("v") for k in saved.files))]
        best = [saved[f"b{i}"] for i in range(sum(k.startswith("b") for k in saved.files))]
    variables = _variables(model, optimizer)
    if len(values) != len(variables):
        raise ValueError(f"checkpoint holds {len(values)} variables, the model has {len(variables)}")
    for variable, value in zip(variables, values):
        variable.assign(value)
    return best or None
