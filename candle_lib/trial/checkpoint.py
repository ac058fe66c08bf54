"""Trial checkpoints: every variable of the model (weights and the dropout/sampling RNG
states), the optimizer's variables, the best weights so far, the epoch reached, the history and
the state of the stateful callbacks.

Written atomically: the arrays go to a new file first, then ``state.json`` (which names that
file) is replaced, then older array files are removed; a kill at any moment leaves a complete
previous or new checkpoint.
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


def save_checkpoint(directory, model, optimizer, *, epoch: int, extra: dict, best_weights=None) -> None:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    arrays = f"variables-{epoch:06d}.npz"
    named = [(f"v{i}", v) for i, v in enumerate(_variables(model, optimizer))]
    named += [(f"b{i}", w) for i, w in enumerate(best_weights or [])]
    with atomic_path(d / arrays) as tmp:
        # the .npz layout of np.savez, written piece by piece: a variable is copied out of
        # TensorFlow a block of rows at a time, so a checkpoint of a large model needs no second
        # copy of its weights in memory
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            for name, value in named:
                with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                    _write_npy_blocks(entry, value)
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
