"""Members' predictions (a trial's predictions.parquet, or one MC-dropout pass) stacked into
arrays over the same rows: (members, rows, classes) probabilities, or (members, rows) means,
variances and quantiles. Rows are ordered by split, then sample id."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError

KEYS = ["split", "sample_id"]


@dataclass
class Stacked:
    rows: pd.DataFrame  # split, sample_id and the truth (label_code or target), one per row
    values: dict  # name -> array with the members first


def _aligned(frames: list[pd.DataFrame], truth: str) -> list[pd.DataFrame]:
    if not frames:
        raise CandleInputError("no member finished with predictions: nothing to aggregate", where="uq")
    ordered = [frame.sort_values(KEYS, kind="stable").reset_index(drop=True) for frame in frames]
    first = ordered[0][KEYS + [truth]]
    for k, frame in enumerate(ordered[1:], start=1):
        if not frame[KEYS].equals(first[KEYS]):
            raise CandleInputError(
                f"member {k} predicted other rows than member 0 (split/sample ids differ)", where="uq"
            )
    return ordered


def probability_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("prob_")]


def stack_classification(frames: list[pd.DataFrame]) -> Stacked:
    ordered = _aligned(frames, "label_code")
    columns = probability_columns(ordered[0])
    p = np.stack([frame[columns].to_numpy(np.float64) for frame in ordered])
    return Stacked(ordered[0][KEYS + ["label_code"]], {"p": p, "classes": [c[len("prob_") :] for c in columns]})


def quantile_columns(frame: pd.DataFrame) -> dict[float, str]:
    return {float(c[2:]): c for c in frame.columns if c.startswith("q_")}


def stack_regression(frames: list[pd.DataFrame]) -> Stacked:
    """means ``mu``, variances ``var`` (0 where a member has no variance head) and, when every
    member has them, quantiles ``q`` = {level: (members, rows)}."""
    ordered = _aligned(frames, "target")
    mu = np.stack([frame["prediction"].to_numpy(np.float64) for frame in ordered])
    var = np.stack(
        [frame["variance"].to_numpy(np.float64) if "variance" in frame else np.zeros(len(frame)) for frame in ordered]
    )
    levels = [quantile_columns(frame) for frame in ordered]
    common = set(levels[0]).intersection(*levels[1:]) if all(levels) else set()
    q = {
        level: np.stack([frame[levels[0][level]].to_numpy(np.float64) for frame in ordered]) for level in sorted(common)
    }
    return Stacked(ordered[0][KEYS + ["target"]], {"mu": mu, "var": var, "q": q})


def passes_as_members(samples: pd.DataFrame) -> list[pd.DataFrame]:
    """MC-dropout samples (one table with a ``pass`` column) as one frame per pass."""
    return [group.drop(columns="pass") for _, group in samples.groupby("pass", sort=True)]
