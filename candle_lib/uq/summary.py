"""The tables of results/uq/ from stacked member predictions (see :mod:`.members`):

- ``summary``: long format (method, split, metric, value), method = ensemble or mc_dropout;
- ``predictions``: per method and row the averaged prediction and its uncertainty (classes:
  mean probabilities, confidence, entropy, mutual information; regression: mean, aleatoric,
  epistemic and total variance, averaged quantiles);
- ``intervals`` (regression): per method, interval kind and level, the PICP and mean width on
  test before and after recalibration on the val rows (:mod:`.recalibration`);
- ``curves``: what the plots draw (reliability bins and risk-coverage on test; coverage against
  level on test before and after recalibration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError
from candle_lib.uq import classification as cls
from candle_lib.uq import regression as reg
from candle_lib.uq.members import Stacked
from candle_lib.uq.recalibration import gaussian_scale, quantile_margin

CALIBRATION_SPLIT, TEST_SPLIT = "val", "test"
CURVE_LEVELS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))  # the calibration curve's levels


@dataclass
class UQTables:
    summary: list = field(default_factory=list)  # rows of (method, split, metric, value)
    predictions: list = field(default_factory=list)  # per-method frames
    intervals: list = field(default_factory=list)  # rows (regression)
    curves: dict = field(default_factory=dict)  # method -> plot data

    def frames(self) -> dict[str, pd.DataFrame]:
        out = {
            "summary": pd.DataFrame(self.summary, columns=["method", "split", "metric", "value"]),
            "predictions": pd.concat(self.predictions, ignore_index=True),
        }
        if self.intervals:
            out["intervals"] = pd.DataFrame(self.intervals)
        return out

    def add_summary(self, method: str, split: str, metrics: dict) -> None:
        self.summary.extend((method, split, name, float(value)) for name, value in metrics.items())


def _split_mask(stacked: Stacked, split: str) -> np.ndarray:
    mask = (stacked.rows["split"] == split).to_numpy()
    if not mask.any():
        raise CandleInputError(f"the members predicted no {split} rows", where="uq")
    return mask


def add_classification(tables: UQTables, method: str, stacked: Stacked, bins: int) -> None:
    p, y = stacked.values["p"], stacked.rows["label_code"].to_numpy()
    mean_p = p.mean(axis=0)
    frame = stacked.rows.assign(method=method, n_members=len(p))
    for k, name in enumerate(stacked.values["classes"]):
        frame[f"prob_{name}"] = mean_p[:, k]
    frame["pred_code"] = mean_p.argmax(axis=1)
    frame["confidence"] = mean_p.max(axis=1)
    frame["entropy"] = cls.entropy(mean_p)
    frame["mutual_information"] = cls.mutual_information(p)
    tables.predictions.append(frame)
    for split in (CALIBRATION_SPLIT, TEST_SPLIT):
        mask = _split_mask(stacked, split)
        tables.add_summary(
            method, split, {"n_members": len(p), **cls.classification_summary(p[:, mask], y[mask], bins)}
        )
    mask = _split_mask(stacked, TEST_SPLIT)
    coverage, risk = cls.risk_coverage(mean_p[mask], y[mask])
    tables.curves[method] = {
        "reliability": cls.reliability_bins(mean_p[mask], y[mask], bins),
        "coverage": coverage,
        "risk": risk,
    }


def _gaussian_rows(method, y, dec, levels, val, test) -> list[dict]:
    rows = []
    for level in levels:
        scale = gaussian_scale(y[val], dec.mean[val], dec.total[val], level)
        lo, hi = reg.gaussian_interval(dec.mean, dec.total, level)
        lo_s, hi_s = reg.gaussian_interval(dec.mean, dec.total, level, scale)
        rows.append(_interval_row(method, "gaussian", level, scale, y, (lo, hi), (lo_s, hi_s), val, test))
    return rows


def _quantile_rows(method, y, q, val, test) -> list[dict]:
    rows = []
    for level, (low, high) in reg.quantile_levels(q).items():
        lo, hi = q[low].mean(axis=0), q[high].mean(axis=0)
        margin = quantile_margin(y[val], lo[val], hi[val], level)
        rows.append(
            _interval_row(method, "quantile", level, margin, y, (lo, hi), (lo - margin, hi + margin), val, test)
        )
    return rows


def _interval_row(method, kind, level, factor, y, before, after, val, test) -> dict:
    return {
        "method": method,
        "interval": kind,
        "level": level,
        "recalibration": factor,  # gaussian: scale of the half-width; quantile: margin added
        "val_picp": reg.picp(y[val], before[0][val], before[1][val]),
        "test_picp": reg.picp(y[test], before[0][test], before[1][test]),
        "test_width": reg.mean_width(before[0][test], before[1][test]),
        "test_picp_recalibrated": reg.picp(y[test], after[0][test], after[1][test]),
        "test_width_recalibrated": reg.mean_width(after[0][test], after[1][test]),
    }


def add_regression(tables: UQTables, method: str, stacked: Stacked, levels) -> None:
    y = stacked.rows["target"].to_numpy(np.float64)
    dec = reg.decompose(stacked.values["mu"], stacked.values["var"])
    q = stacked.values["q"]
    frame = stacked.rows.assign(
        method=method,
        n_members=len(stacked.values["mu"]),
        mean=dec.mean,
        aleatoric=dec.aleatoric,
        epistemic=dec.epistemic,
        total=dec.total,
    )
    for level, values in q.items():
        frame[f"q_{level:g}"] = values.mean(axis=0)
    tables.predictions.append(frame)
    val, test = _split_mask(stacked, CALIBRATION_SPLIT), _split_mask(stacked, TEST_SPLIT)
    if np.any(dec.total[val] <= 0):
        raise CandleInputError(
            f"{method}: zero predictive variance on some val rows (identical members without a variance head)",
            where="uq",
        )
    for split, mask in ((CALIBRATION_SPLIT, val), (TEST_SPLIT, test)):
        metrics = {
            "n_members": len(stacked.values["mu"]),
            "n": int(mask.sum()),
            "mse": float(np.mean((y[mask] - dec.mean[mask]) ** 2)),
            "mean_aleatoric": float(dec.aleatoric[mask].mean()),
            "mean_epistemic": float(dec.epistemic[mask].mean()),
            "mean_total": float(dec.total[mask].mean()),
            "gaussian_nll": reg.gaussian_nll(y[mask], dec.mean[mask], dec.total[mask]),
        }
        for level in levels:
            lo, hi = reg.gaussian_interval(dec.mean[mask], dec.total[mask], level)
            metrics[f"picp_{level:g}"] = reg.picp(y[mask], lo, hi)
            metrics[f"width_{level:g}"] = reg.mean_width(lo, hi)
        tables.add_summary(method, split, metrics)
    tables.intervals.extend(_gaussian_rows(method, y, dec, levels, val, test))
    tables.intervals.extend(_quantile_rows(method, y, q, val, test))
    curve = _gaussian_rows(method, y, dec, CURVE_LEVELS, val, test)
    tables.curves[method] = {
        "level": np.array(CURVE_LEVELS),
        "observed": np.array([r["test_picp"] for r in curve]),
        "recalibrated": np.array([r["test_picp_recalibrated"] for r in curve]),
    }
