"""Label encodings. Classes are sorted, so the same labels always get the same codes."""

from __future__ import annotations

import numpy as np

LABEL_ENCODINGS = ("one_hot", "ordinal")


def fit_classes(labels) -> list[str]:
    return sorted({str(v) for v in labels})


def encode_ordinal(labels, classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    try:
        return np.array([index[str(v)] for v in labels], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the classes {classes}") from None


def one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(codes), n_classes), dtype=np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out
