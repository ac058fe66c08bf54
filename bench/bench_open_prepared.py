"""What checking a prepared dataset costs a trial: load_prepared's open, each in a fresh process
(as every trial is), on a 1,400 x 60,483 float32 matrix (NT3-sized, 339 MB).

  bare        what load_prepared did before it checked anything: np.load(mmap_mode="r") and the
              two parquet tables (the floor);
  unverified  load_prepared on a file version not verified yet: the cheap checks (.npy header,
              file size, row and width counts) and the sha256 of every file, then the stamp
              .verified.json is written (the first trial after a dataset is prepared or changed);
  verified    load_prepared with a valid stamp: the cheap checks and a stat per file (every
              later trial).

Each variant runs in --rounds fresh processes (pandas and pyarrow imported before the clock
starts); the table shows the median, minimum and maximum of the first open in each process,
and the median of a second open in the same process. The files are read warm (page cache).

    .venv/bin/python bench/bench_open_prepared.py            # 1,400 x 60,483
    .venv/bin/python bench/bench_open_prepared.py --quick    # 200 x 6,000, a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import sys, time, json
import numpy as np, pandas as pd, pyarrow.parquet
from pathlib import Path
from candle_lib.data.prepared import load_prepared
d, variant = Path(sys.argv[1]), sys.argv[2]
def bare():
    np.load(d / "matrix.npy", mmap_mode="r")
    pd.read_parquet(d / "samples.parquet"), pd.read_parquet(d / "features.parquet")
    json.loads((d / "manifest.json").read_text())
open_ = bare if variant == "bare" else (lambda: load_prepared(d))
times = []
for _ in range(2):
    t = time.perf_counter(); open_(); times.append(time.perf_counter() - t)
print(times[0], times[1])
"""


def build(directory: Path, rows: int, cols: int) -> None:
    from candle_lib.data.prepared import write_prepared

    rng = np.random.default_rng(0)
    matrix = np.empty((rows, cols), np.float32)
    for start in range(0, rows, 100):
        matrix[start : start + 100] = np.log2(1 + rng.lognormal(1, 1.5, (min(100, rows - start), cols)))
    ids = [f"s{i}" for i in range(rows)]
    samples = pd.DataFrame({"sample_id": ids, "label": "a", "label_code": 0, "group": ids, "split": "train", "fold": 0})
    features = pd.DataFrame({"feature_id": [f"g{j}" for j in range(cols)]})
    write_prepared(directory, matrix, samples, features, {"classes": ["a"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 x 6,000: a smoke run")
    parser.add_argument("--rounds", type=int, default=7, help="fresh processes per variant")
    args = parser.parse_args()
    rows, cols = (200, 6000) if args.quick else (1400, 60483)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "prep-bench"
        t0 = time.perf_counter()
        build(directory, rows, cols)
        size = (directory / "matrix.npy").stat().st_size
        print(
            f"setup (not timed) {time.perf_counter() - t0:.1f} s: {rows} x {cols} float32, matrix.npy {size / 1e6:.0f} MB"
        )
        stamp = directory / ".verified.json"
        print(f"{'variant':<11} {'first open (median, min..max)':>32} {'second open':>12}")
        for variant in ("bare", "unverified", "verified"):
            firsts, seconds = [], []
            for _ in range(args.rounds):
                if variant == "unverified":
                    stamp.unlink(missing_ok=True)
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(directory), variant],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=REPO,
                ).stdout.split()
                firsts.append(float(out[0]) * 1000)
                seconds.append(float(out[1]) * 1000)
            print(
                f"{variant:<11} {statistics.median(firsts):>14.1f} ms ({min(firsts):.1f}..{max(firsts):.1f})"
                f" {statistics.median(seconds):>9.1f} ms"
            )


if __name__ == "__main__":
    main()
