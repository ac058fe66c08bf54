"""Preparation throughput: FPKM-UQ + log2(x+1) + float32 + write vs a read/convert/write floor.

A raw count matrix (uint32, negative-binomial counts; generation is not timed) is saved as .npy.
This bench times, in interleaved rounds (5 by default, at least 3; the table shows medians):

  floor      np.load(counts.npy) -> .astype(float32) -> candle_lib.atomic.write_npy: the least
             any preparation must do (read the counts, produce a float32 matrix, write it);
  candle_lib np.load -> candle_lib.data.normalize.normalize_to_float32("fpkm_uq", "log2p1", ...)
             (random gene lengths, ~60% protein-coding) -> write_npy: what
             candle_lib.data.prepared.prepare_matrix does before feature filtering;
  unblocked  (information) the same arithmetic on the whole matrix at once, with its full-size
             float64 temporaries, as candle_lib did before: its output must be bit-identical;
  f32 blocks (information, not in candle_lib) the arithmetic in float32: faster, but a few
             float32 ulps away, so not used.

Before each timed call an untimed os.sync() flushes dirty pages, so that no method pays for
the write-back of the previous one's output. It prints the candle_lib/floor ratio (target <= 3x).

    .venv/bin/python bench/bench_prepare.py            # 2,000 x 60,483 (484 MB of uint32 counts)
    .venv/bin/python bench/bench_prepare.py --quick    # 200 x 6,000, a smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from candle_lib.atomic import write_npy
from candle_lib.data.normalize import (
    BLOCK_ROWS,
    fpkm_uq,
    normalize_to_float32,
    transform,
)


def make_counts(rows: int, cols: int, seed: int = 0):
    """Gamma-Poisson (negative binomial) counts, skewed gene means, ~10% near-silent genes."""
    rng = np.random.default_rng(seed)
    gene_mean = rng.lognormal(np.log(20.0), 2.0, cols)
    gene_mean[rng.random(cols) < 0.1] *= 1e-3
    lengths = rng.integers(200, 20_000, cols).astype(np.float64)
    protein_coding = rng.random(cols) < 0.6
    counts = np.empty((rows, cols), dtype=np.uint32)
    dispersion = 0.3
    for start in range(0, rows, 100):
        n = min(100, rows - start)
        library = rng.lognormal(0.0, 0.3, n)
        mu = library[:, None] * gene_mean[None, :]
        counts[start : start + n] = np.minimum(rng.poisson(rng.gamma(1.0 / dispersion, mu * dispersion)), 2**32 - 1)
    return counts, lengths, protein_coding


def floor(raw: Path, out: Path, lengths, protein_coding) -> None:
    counts = np.load(raw)
    write_npy(out, counts.astype(np.float32))


def prep(raw: Path, out: Path, lengths, protein_coding) -> None:
    counts = np.load(raw)
    write_npy(out, normalize_to_float32("fpkm_uq", "log2p1", counts, lengths, protein_coding))


def unblocked(raw: Path, out: Path, lengths, protein_coding) -> None:
    counts = np.load(raw)
    write_npy(out, transform("log2p1", fpkm_uq(counts, lengths, protein_coding)).astype(np.float32))


def float32_blocks(raw: Path, out: Path, lengths, protein_coding) -> None:
    counts = np.load(raw)
    q75 = np.percentile(counts[:, protein_coding], 75, axis=1)
    col_scale = (1.0 / np.asarray(lengths, dtype=np.float64)).astype(np.float32)[None, :]
    row_scale = (1e9 / q75).astype(np.float32)[:, None]
    result = np.empty(counts.shape, dtype=np.float32)
    for start in range(0, counts.shape[0], BLOCK_ROWS):
        x = result[start : start + BLOCK_ROWS]
        x[...] = counts[start : start + BLOCK_ROWS]
        x *= col_scale
        x *= row_scale[start : start + BLOCK_ROWS]
        x += np.float32(1.0)
        np.log2(x, out=x)
    write_npy(out, result)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 x 6,000 instead of 2,000 x 60,483")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (>= 3); the table shows medians")
    parser.add_argument("--workdir", help="where to write the files (default: a temporary directory, removed after)")
    args = parser.parse_args(argv)
    rows = args.rows or (200 if args.quick else 2000)
    cols = args.cols or (6000 if args.quick else 60483)
    repeat = max(3, args.repeat)

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(
            f"bench_prepare: {rows} x {cols} uint32 counts, {repeat} rounds, {os.cpu_count()} CPU(s), files in {workdir}"
        )
        t0 = time.perf_counter()
        counts, lengths, protein_coding = make_counts(rows, cols)
        raw = workdir / "counts.npy"
        write_npy(raw, counts)
        print(
            f"setup (not timed) {time.perf_counter() - t0:.1f} s: counts.npy {raw.stat().st_size / 1e6:.0f} MB, "
            f"{protein_coding.mean():.0%} protein-coding, median count {np.median(counts[0]):.0f}"
        )
        del counts

        methods = {
            "floor: load + astype(f32) + write": floor,
            "candle_lib: fpkm_uq+log2p1 blocks": prep,
            "unblocked (before)": unblocked,
            "f32 blocks (not used)": float32_blocks,
        }
        outputs = {name: workdir / f"out{k}.npy" for k, name in enumerate(methods)}
        for name, function in methods.items():  # untimed: correctness against the unblocked form
            function(raw, outputs[name], lengths, protein_coding)
        identical = np.array_equal(
            np.load(outputs["candle_lib: fpkm_uq+log2p1 blocks"]), np.load(outputs["unblocked (before)"])
        )

        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(repeat):  # interleaved, so background load hits every method alike
            for name, function in methods.items():
                os.sync()  # untimed: every method starts with no dirty pages waiting to be written
                start = time.perf_counter()
                function(raw, outputs[name], lengths, protein_coding)
                times[name].append(time.perf_counter() - start)

        print(f"\n{'method':36s} {'median s':>9s} {'min s':>8s} {'max s':>8s} {'x floor':>8s}")
        med = {name: statistics.median(values) for name, values in times.items()}
        base = med["floor: load + astype(f32) + write"]
        for name, values in times.items():
            print(f"{name:36s} {med[name]:9.3f} {min(values):8.3f} {max(values):8.3f} {med[name] / base:8.2f}")
        ratio = med["candle_lib: fpkm_uq+log2p1 blocks"] / base
        print(f"\nratio candle_lib / floor = {ratio:6.2f}x   (target <= 3x) {'OK' if ratio <= 3 else 'MISSED'}")
        print(f"candle_lib output bit-identical to the unblocked form: {identical}")
        print("(warm page cache; medians of interleaved rounds)")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
