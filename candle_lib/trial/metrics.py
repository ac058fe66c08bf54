"""Trial metrics (NumPy only: no TensorFlow, no scikit-learn): classification from predicted
probabilities, regression (MSE, MAE, R², Pearson) and reconstruction (MSE, Pearson).

The ROC AUC is computed here rather than by scikit-learn's ``roc_auc_score`` so that a trial
process does not import scikit-learn and SciPy (1.5 s, ~60 MiB); it repeats scikit-learn
1.9.1's float operations and gives the same bits (``tests/unit/trial/test_roc_auc.py``).
"""

from __future__ import annotations

import warnings

import numpy as np

EPSILON = 1e-7  # Keras' clipping of probabilities in cross-entropy


def categorical_crossentropy(codes: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1 - EPSILON)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(codes)), codes])))


def accuracy(codes: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == codes))


def roc_auc_binary(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the rows where ``positive`` is true; NaN (with
    a warning) when only one class is present.

    The curve has one point per distinct score (tied scores enter together), from (0, 0) to
    (1, 1); points on a straight line between their neighbours are dropped (they add no area),
    and the area is the trapezoid sum, all in float64 and in scikit-learn's order, so that the
    result is ``sklearn.metrics.roc_auc_score``'s to the bit."""
    positive = np.asarray(positive, dtype=bool).ravel()
    scores = np.asarray(scores).ravel()
    if not np.isfinite(scores).all():
        raise ValueError("Input y_score contains NaN or infinity.")
    if np.unique(positive).size != 2:
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.", stacklevel=2)
        return float("nan")
    order = np.argsort(scores, kind="stable")[::-1]  # descending; order within ties is irrelevant
    ranked = scores[order]
    ends = np.append(np.flatnonzero(np.diff(ranked)), ranked.size - 1)  # last row of each score
    tps = np.cumsum(positive[order].astype(np.float64), dtype=np.float64)[ends]
    fps = 1 + ends.astype(np.float64) - tps
    if fps.size > 2:
        corner = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        kept = np.concatenate([[True], corner, [True]])
        fps, tps = fps[kept], tps[kept]
    fpr = np.concatenate([[0.0], fps]) / fps[-1]
    tpr = np.concatenate([[0.0], tps]) / tps[-1]
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0, dtype=np.float64))


def roc_auc(codes: np.ndarray, probabilities: np.ndarray) -> float:
    """``roc_auc_score(codes, probabilities[:, -1])`` for at most two classes and columns (the
    larger code is the positive one), else ``roc_auc_score(codes, probabilities,
    multi_class="ovr")``: the mean of each class's AUC against the rest."""
    codes = np.asarray(codes).ravel()
    probabilities = np.asarray(probabilities)
    present = np.unique(codes)
    if present.size <= 2 and probabilities.shape[1] <= 2:
        return roc_auc_binary(codes == present[-1], probabilities[:, -1])
    if not np.isfinite(probabilities).all():
        raise ValueError("Input y_score contains NaN or infinity.")
    if not np.allclose(1, probabilities.sum(axis=1)):
        raise ValueError(
            "Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up to 1.0 over classes"
        )
    if present.size != probabilities.shape[1]:
        raise ValueError("Number of classes in y_true not equal to the number of columns in 'y_score'")
    scores = np.zeros(present.size)
    for column, code in enumerate(present):
        scores[column] = roc_auc_binary(codes == code, probabilities[:, column])
    return float(np.mean(scores))


def auc(codes: np.ndarray, probabilities: np.ndarray) -> float | None:
    """ROC AUC (one-vs-rest macro for more than two classes); None if a class is absent."""
    present = np.unique(codes)
    if present.size < probabilities.shape[1]:
        return None
    return roc_auc(codes, probabilities)


def majority_accuracy(train_codes: np.ndarray, eval_codes: np.ndarray) -> float:
    """Accuracy of always guessing the training rows' most frequent class."""
    majority = np.bincount(train_codes).argmax()
    return float(np.mean(eval_codes == majority))


def classification_metrics(prefix: str, codes, probabilities, train_codes) -> dict:
    codes = np.asarray(codes)
    return {
        f"{prefix}_loss": categorical_crossentropy(codes, probabilities),
        f"{prefix}_accuracy": accuracy(codes, probabilities),
        f"{prefix}_auc": auc(codes, probabilities),
        f"{prefix}_majority_accuracy": majority_accuracy(np.asarray(train_codes), codes),
    }


def pearson(a, b) -> float | None:
    """Pearson correlation of two flat arrays; None when either is constant."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    da, db = a - a.mean(), b - b.mean()
    denominator = np.sqrt((da @ da) * (db @ db))
    return float(da @ db / denominator) if denominator > 0 else None


def r_squared(y, predicted) -> float | None:
    """Coefficient of determination 1 - SS_res / SS_tot; None when y is constant."""
    y = np.asarray(y, dtype=np.float64)
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - np.asarray(predicted, dtype=np.float64)) ** 2).sum()) / total if total > 0 else None


def regression_metrics(prefix: str, y, predicted) -> dict:
    y = np.asarray(y, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    return {
        f"{prefix}_mse": float(np.mean((y - predicted) ** 2)),
        f"{prefix}_mae": float(np.mean(np.abs(y - predicted))),
        f"{prefix}_r2": r_squared(y, predicted),
        f"{prefix}_pearson": pearson(y, predicted),
    }


def reconstruction_metrics(prefix: str, x, reconstructed) -> dict:
    """Per-value MSE and the Pearson correlation of all values, as CANDLE's P1B1 reports."""
    x = np.asarray(x, dtype=np.float64)
    reconstructed = np.asarray(reconstructed, dtype=np.float64)
    return {
        f"{prefix}_mse": float(np.mean((x - reconstructed) ** 2)),
        f"{prefix}_correlation": pearson(x, reconstructed),
    }
