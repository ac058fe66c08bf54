"""Write files under a temporary name and rename, so a killed job never leaves a file that
looks complete (DESIGN.md section 4)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_table(path, frame: pd.DataFrame) -> None:
    """Parquet for ``.parquet``; tab-separated text for ``.tsv`` (``.tsv.gz`` gzipped); CSV for ``.csv``."""
    name = str(path)
    with atomic_path(path) as tmp:
        if name.endswith(".parquet"):
            frame.to_parquet(tmp, index=False)
        elif name.endswith((".tsv", ".tsv.gz", ".csv")):
            compression = "gzip" if name.endswith(".gz") else None
            sep = "," if name.endswith(".csv") else "\t"
            frame.to_csv(tmp, sep=sep, index=False, compression=compression)
        else:
            raise ValueError(f"{name}: unsupported table extension (use .parquet, .tsv, .tsv.gz or .csv)")


def write_npy(path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
