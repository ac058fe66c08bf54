"""Uncertainty of an ensemble of classifiers, from the members' class probabilities
``p`` of shape (members, rows, classes) and the true class codes ``y``.

Natural logarithms throughout (entropies in nats). With p̄ = mean over members:

- predictive entropy H(p̄) = -Σ_k p̄_k log p̄_k (0 log 0 = 0);
- mutual information (epistemic part) MI = H(p̄) - mean_m H(p_m);
- Brier score = mean over rows of Σ_k (p̄_k - y_k)², y one-hot;
- NLL = -mean log p̄_y, with p̄_y clipped below at 1e-7 (as Keras' cross-entropy);
- ECE: confidences c = max_k p̄_k cut into ``bins`` equal-width bins (0, 1/B], (1/B, 2/B], ...
  (c = 0 joins the first); ECE = Σ_b (n_b / n) |accuracy_b - mean confidence_b|;
- risk-coverage: rows sorted by confidence, most confident first (ties in row order); at
  coverage j/n the risk is the error rate of the j rows kept; AURC is the mean risk over j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import entr

NLL_FLOOR = 1e-7
DEFAULT_BINS = 10


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each probability vector along the last axis."""
    return entr(np.asarray(p, dtype=np.float64)).sum(axis=-1)


def mutual_information(p: np.ndarray) -> np.ndarray:
    """Per row: H(mean_m p_m) - mean_m H(p_m), for ``p`` of shape (members, rows, classes)."""
    p = np.asarray(p, dtype=np.float64)
    return entropy(p.mean(axis=0)) - entropy(p).mean(axis=0)


def brier_score(mean_p: np.ndarray, y: np.ndarray) -> float:
    onehot = np.eye(mean_p.shape[1])[np.asarray(y)]
    return float(np.mean(np.sum((mean_p - onehot) ** 2, axis=1)))


def negative_log_likelihood(mean_p: np.ndarray, y: np.ndarray) -> float:
    chosen = mean_p[np.arange(len(y)), np.asarray(y)]
    return float(-np.mean(np.log(np.maximum(chosen, NLL_FLOOR))))


@dataclass(frozen=True)
class ReliabilityBins:
    edges: np.ndarray  # B + 1 bin edges, 0 .. 1
    count: np.ndarray  # rows per bin
    confidence: np.ndarray  # mean confidence per bin (NaN where empty)
    accuracy: np.ndarray  # accuracy per bin (NaN where empty)

    @property
    def ece(self) -> float:
        used = self.count > 0
        weights = self.count[used] / self.count.sum()
        return float(np.sum(weights * np.abs(self.accuracy[used] - self.confidence[used])))


def reliability_bins(mean_p: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> ReliabilityBins:
    confidence = mean_p.max(axis=1)
    correct = (mean_p.argmax(axis=1) == np.asarray(y)).astype(np.float64)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return ReliabilityBins(np.linspace(0.0, 1.0, bins + 1), count, mean_confidence, accuracy)


def risk_coverage(mean_p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, risk) arrays of length n: keep the j most confident rows, j = 1..n."""
    confidence = mean_p.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    errors = (mean_p.argmax(axis=1) != np.asarray(y))[order].astype(np.float64)
    kept = np.arange(1, len(order) + 1)
    return kept / len(order), np.cumsum(errors) / kept


def classification_summary(p: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> dict:
    """Scores of the averaged probabilities of ``p`` (members, rows, classes) against ``y``."""
    mean_p = np.asarray(p, dtype=np.float64).mean(axis=0)
    _, risk = risk_coverage(mean_p, y)
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean(mean_p.argmax(axis=1) == y)),
        "nll": negative_log_likelihood(mean_p, y),
        "brier": brier_score(mean_p, y),
        "ece": reliability_bins(mean_p, y, bins).ece,
        "mean_entropy": float(entropy(mean_p).mean()),
        "mean_mutual_information": float(mutual_information(p).mean()),
        "aurc": float(risk.mean()),
    }
