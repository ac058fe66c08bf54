"""Reading a trial's rows of the prepared matrix into memory, without keeping the file mapped.

A trial needs its training rows in memory once. Copying them out of a memory-mapped matrix
(``matrix[rows]``) would leave every touched page of the file resident in the process as well,
so the process would hold the rows twice. :func:`read_npy_rows` reads them from the ``.npy``
file with ``os.preadv`` straight into the destination array instead: the file's pages go
through the page cache, which the kernel shares and reclaims, and never count in this process's
resident set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def npy_layout(path) -> tuple[int, tuple[int, ...], np.dtype]:
    """(byte offset of the data, shape, dtype) of a C-ordered ``.npy`` file."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version not in HEADER_READERS:
            raise ValueError(f"{path}: .npy format version {version} is not supported")
        shape, fortran_order, dtype = HEADER_READERS[version](handle)
        if fortran_order:
            raise ValueError(f"{path}: a Fortran-ordered .npy cannot be read by rows")
        return handle.tell(), tuple(shape), np.dtype(dtype)


def consecutive_runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """[(position, length)] of the maximal runs r, r+1, r+2, ... in ``rows`` (in their order)."""
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    lengths = np.diff(np.concatenate([starts, [len(rows)]]))
    return list(zip(starts.tolist(), lengths.tolist()))


def _read_exactly(fd: int, buffer: memoryview, offset: int) -> None:
    done = 0
    while done < len(buffer):
        got = os.preadv(fd, [buffer[done:]], offset + done)
        if got == 0:
            raise EOFError(f"the file ended {len(buffer) - done} bytes early")
        done += got


def read_npy_rows(path, rows) -> np.ndarray:
    """``np.load(path)[rows]`` as a new array, read without mapping the file.

    ``rows`` may come in any order and repeat; each run of consecutive rows is one read."""
    offset, shape, dtype = npy_layout(path)
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= shape[0]):
        raise IndexError(f"{path}: rows out of range 0..{shape[0] - 1}")
    out = np.empty((len(rows),) + shape[1:], dtype)
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    flat = memoryview(out.reshape(-1).view(np.uint8))
    fd = os.open(Path(path), os.O_RDONLY)
    try:
        for position, length in consecutive_runs(rows):
            target = flat[position * row_bytes : (position + length) * row_bytes]
            _read_exactly(fd, target, offset + int(rows[position]) * row_bytes)
    finally:
        os.close(fd)
    return out
