"""Classification metrics from predicted probabilities (numpy/scikit-learn, no TensorFlow)."""

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
