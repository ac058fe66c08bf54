"""What a trial predicts, and how its outputs are scored and written.

- ``ClassificationTask``: labels as one-hot targets with a softmax output, or as the codewords
  of a binary/error-correcting code with a sigmoid output (decoded to the nearest codeword);
- ``RegressionTask``: a numeric ``target`` column of the sample table, linear output (the
  Gaussian and quantile heads are in :mod:`candle_lib.trial.heads`);
- ``AutoencoderTask``: the input itself (P1B1), scored by reconstruction error and correlation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from candle_lib.data import labels as label_codes
from candle_lib.params.specs import task_kind
from candle_lib.trial.metrics import (
    classification_metrics,
    reconstruction_metrics,
    regression_metrics,
)


class ClassificationTask:
    def __init__(self, classes: list[str], encoding: str = "one_hot"):
        self.classes = classes
        self.encoding = encoding
        self.codebook = label_codes.codebook(encoding, len(classes)) if encoding not in ("one_hot", "ordinal") else None
        self.n_outputs = len(classes) if self.codebook is None else self.codebook.shape[1]
        self.output_activation = None if self.codebook is None else "sigmoid"
        self.loss = "categorical_crossentropy" if self.codebook is None else "binary_crossentropy"
        self.keras_metrics = ["accuracy"] if self.codebook is None else []

    def targets(self, samples: pd.DataFrame, x: np.ndarray) -> np.ndarray:
        codes = samples["label_code"].to_numpy()
        if self.codebook is None:
            return label_codes.one_hot(codes, len(self.classes))
        return self.codebook[codes].astype(np.float32)

    def class_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Softmax outputs as they are; code outputs as the normalized likelihood of each
        codeword under independent bits (its argmax is the nearest codeword)."""
        if self.codebook is None:
            return outputs
        p = np.clip(outputs, 1e-7, 1 - 1e-7)
        log_like = np.log(p) @ self.codebook.T + np.log1p(-p) @ (1 - self.codebook).T
        log_like -= log_like.max(axis=1, keepdims=True)
        like = np.exp(log_like)
        return like / like.sum(axis=1, keepdims=True)

    def metrics(self, prefix: str, samples: pd.DataFrame, x, outputs: np.ndarray, train_samples: pd.DataFrame) -> dict:
        return classification_metrics(
            prefix,
            samples["label_code"].to_numpy(),
            self.class_probabilities(outputs),
            train_samples["label_code"].to_numpy(),
        )

    def predictions(self, samples: pd.DataFrame, x, outputs: np.ndarray) -> pd.DataFrame:
        frame = samples[["sample_id", "split", "label", "label_code"]].reset_index(drop=True).copy()
        probabilities = self.class_probabilities(outputs)
        codes = probabilities.argmax(axis=1).astype(np.int64)
        frame["pred_code"] = codes
        frame["pred_label"] = [self.classes[c] for c in codes]
        for k, name in enumerate(self.classes):
            frame[f"prob_{name}"] = probabilities[:, k].astype(np.float64)
        return frame


class RegressionTask:
    n_outputs = 1
    output_activation = "linear"
    keras_metrics: list = []

    def __init__(self, loss: str = "mse"):
        self.loss = loss

    def targets(self, samples: pd.DataFrame, x: np.ndarray) -> np.ndarray:
        return samples["target"].to_numpy(dtype=np.float32)[:, None]

    def metrics(self, prefix, samples, x, outputs, train_samples) -> dict:
        return regression_metrics(prefix, samples["target"].to_numpy(dtype=np.float64), outputs[:, 0])

    def predictions(self, samples, x, outputs) -> pd.DataFrame:
        frame = samples[["sample_id", "split", "target"]].reset_index(drop=True).copy()
        frame["prediction"] = outputs[:, 0].astype(np.float64)
        return frame


class AutoencoderTask:
    output_activation = "linear"
    keras_metrics: list = []

    def __init__(self, n_features: int, loss: str = "mse"):
        self.n_outputs = n_features
        self.loss = loss

    def targets(self, samples, x: np.ndarray) -> np.ndarray:
        return x

    def metrics(self, prefix, samples, x, outputs, train_samples) -> dict:
        return reconstruction_metrics(prefix, np.asarray(x, dtype=np.float64), outputs)

    def predictions(self, samples, x, outputs) -> pd.DataFrame:
        frame = samples[["sample_id", "split"]].reset_index(drop=True).copy()
        frame["reconstruction_mse"] = ((np.asarray(x, dtype=np.float64) - outputs) ** 2).mean(axis=1)
        return frame


def task_for(params: dict, classes: list[str], encoding: str, n_features: int):
    loss = "mse" if params["loss"] == "auto" else params["loss"]
    kind = task_kind(params)
    if kind == "autoencoder":
        return AutoencoderTask(n_features, loss)
    if kind == "regression":
        if params.get("regression_head", "mean") != "mean":
            from candle_lib.trial.heads import head_task

            return head_task(params)
        return RegressionTask(loss)
    return ClassificationTask(classes, encoding)
