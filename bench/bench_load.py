"""Per-trial data load: the prepared .npy (memory-mapped) vs bare np.load vs CANDLE's CSV.

Every trial starts by loading the prepared matrix. CANDLE's NT3 reads a header-less CSV with
``pandas.read_csv(header=None).values.astype('float32')``; we write the prepared matrix once as
``.npy`` (candle_lib.atomic.write_npy) and every trial opens it with
``np.load(mmap_mode="r")`` (candle_lib.data.prepared.load_prepared). This bench times, on the same
values:

  ours   np.load(mmap_mode="r") then a copy of every value into RAM (np.array(m)), so the
         figure includes actually reading the data, not only mapping it;
  touch  np.load(mmap_mode="r") then a sum over every value (reads without a second copy);
  willneed  as ours, with madvise(MADV_WILLNEED) on the mapping first (information only);
  numpy  bare np.load (no mmap): the floor for reading a binary matrix into RAM;
  csv    pandas.read_csv(header=None) of the same values as a header-less CSV, then
         .to_numpy(float32), as CANDLE does.

Both files are read warm (from the page cache: dropping it needs root), each method >= 3 times in
interleaved rounds (5 by default); the table shows the median and the ratios csv/ours and
ours/numpy. At --quick sizes (5 MB) fixed costs (open, header parse, mmap) dominate and the
ours/numpy ratio means little; it is a smoke run.

    .venv/bin/python bench/bench_load.py            # 1,400 x 60,483 float32 (NT3-sized, 339 MB)
    .venv/bin/python bench/bench_load.py --quick    # 200 x 6,000, a smoke run
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from candle_lib.atomic import write_npy


def make_matrix(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """log2(FPKM-UQ + 1)-like values: ~30% zeros, the rest in about 0..15, 4 decimals."""
    rng = np.random.default_rng(seed)
    out = np.empty((rows, cols), dtype=np.float32)
    for start in range(0, rows, 100):
        block = np.log2(1.0 + rng.lognormal(1.0, 1.5, (min(100, rows - start), cols)))
        block[rng.random(block.shape) < 0.3] = 0.0
        out[start : start + block.shape[0]] = np.round(block, 4)
    return out


def write_csv_headerless(path: Path, matrix: np.ndarray) -> None:
    """Write with pyarrow (fast, C++); float32 values come out as their shortest repr."""
    names = [f"c{j}" for j in range(matrix.shape[1])]
    schema = pa.schema([(name, pa.float32()) for name in names])
    with pacsv.CSVWriter(str(path), schema, write_options=pacsv.WriteOptions(include_header=False)) as writer:
        for start in range(0, matrix.shape[0], 100):
            block = matrix[start : start + 100]
            writer.write_table(
                pa.Table.from_arrays([pa.array(block[:, j]) for j in range(block.shape[1])], schema=schema)
            )


def load_ours(npy: Path) -> np.ndarray:
    mapped = np.load(npy, mmap_mode="r")
    return np.array(mapped)  # every value read, into RAM


def load_willneed(npy: Path) -> np.ndarray:
    """A variant (information only): ask the kernel to read ahead the whole mapping first."""
    mapped = np.load(npy, mmap_mode="r")
    mapped._mmap.madvise(mmap.MADV_WILLNEED)
    return np.array(mapped)


def load_touch(npy: Path) -> float:
    mapped = np.load(npy, mmap_mode="r")
    return float(np.asarray(mapped).sum(dtype=np.float64))


def load_numpy(npy: Path) -> np.ndarray:
    return np.load(npy)


def load_csv(csv: Path) -> np.ndarray:
    return pd.read_csv(csv, header=None).to_numpy(dtype=np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 x 6,000 instead of 1,400 x 60,483")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (>= 3); the table shows medians")
    parser.add_argument("--workdir", help="where to write the files (default: a temporary directory, removed after)")
    args = parser.parse_args(argv)
    rows = args.rows or (200 if args.quick else 1400)
    cols = args.cols or (6000 if args.quick else 60483)
    repeat = max(3, args.repeat)

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_load_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"bench_load: {rows} x {cols} float32, {repeat} rounds, {os.cpu_count()} CPU(s), files in {workdir}")
        t0 = time.perf_counter()
        matrix = make_matrix(rows, cols)
        npy, csv = workdir / "matrix.npy", workdir / "matrix.csv"
        write_npy(npy, matrix)
        write_csv_headerless(csv, matrix)
        print(
            f"setup (not timed) {time.perf_counter() - t0:.1f} s: matrix.npy {npy.stat().st_size / 1e6:.0f} MB, "
            f"matrix.csv {csv.stat().st_size / 1e6:.0f} MB"
        )
        os.sync()  # let the write-back of the setup finish before timing reads
        # every method gives back the same values
        assert np.array_equal(load_ours(npy), matrix)
        assert np.array_equal(load_numpy(npy), matrix)
        assert np.array_equal(load_csv(csv), matrix)
        expected_sum = float(matrix.sum(dtype=np.float64))
        del matrix

        methods = {
            "ours (mmap + copy to RAM)": (load_ours, npy),
            "ours (mmap + sum, no copy)": (load_touch, npy),
            "mmap + WILLNEED + copy": (load_willneed, npy),
            "bare np.load (no mmap)": (load_numpy, npy),
            "CANDLE pandas.read_csv": (load_csv, csv),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(repeat):  # interleaved, so background load hits every method alike
            for name, (function, path) in methods.items():
                start = time.perf_counter()
                result = function(path)
                times[name].append(time.perf_counter() - start)
                if isinstance(result, float):
                    assert abs(result - expected_sum) <= 1e-6 * abs(expected_sum)
                del result

        size_mb = rows * cols * 4 / 1e6
        print(f"\n{'method':30s} {'median ms':>10s} {'min ms':>9s} {'max ms':>9s} {'MB/s':>8s}")
        for name, values in times.items():
            med = statistics.median(values)
            print(
                f"{name:30s} {1e3 * med:10.1f} {1e3 * min(values):9.1f} {1e3 * max(values):9.1f} {size_mb / med:8.0f}"
            )
        med = {name: statistics.median(values) for name, values in times.items()}
        ours, bare, csv_t = (
            med["ours (mmap + copy to RAM)"],
            med["bare np.load (no mmap)"],
            med["CANDLE pandas.read_csv"],
        )
        csv_over_ours = csv_t / ours
        ours_over_bare = ours / bare
        print(
            f"\nratio csv / ours          = {csv_over_ours:8.1f}x   (target >= 10x)  {'OK' if csv_over_ours >= 10 else 'MISSED'}"
        )
        print(
            f"ratio ours / bare numpy   = {ours_over_bare:8.2f}x   (target <= 1.5x) {'OK' if ours_over_bare <= 1.5 else 'MISSED'}"
        )
        print(
            f"ratio touch / bare numpy  = {med['ours (mmap + sum, no copy)'] / bare:8.2f}x   (information: reads every value, no copy)"
        )
        print(
            f"ratio willneed / bare     = {med['mmap + WILLNEED + copy'] / bare:8.2f}x   (information: madvise(MADV_WILLNEED) before the copy)"
        )
        print("(warm page cache for every method; medians of interleaved rounds)")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
