"""Trial metrics (numpy/scikit-learn, no TensorFlow): classification from predicted
probabilities, regression (MSE, MAE, R², Pearson) and reconstruction (MSE, Pearson)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

EPSILON = 1e-7  # Keras' clipping of probabilities in cross-entropy


def categorical_crossentropy(codes: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1 - EPSILON)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(codes)), codes])))


def accuracy(codes: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == codes))


def auc(codes: np.ndarray, probabilities: np.ndarray) -> float | None:
    """ROC AUC (one-vs-rest macro for more than two classes); None if a class is absent."""
    present = np.unique(codes)
    if present.size < probabilities.shape[1]:
        return None
    if probabilities.shape[1] == 2:
        return float(roc_auc_score(codes, probabilities[:, 1]))
    return float(roc_auc_score(codes, probabilities, multi_class="ovr"))


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
