"""The data a trial feeds its model, of either kind: expression rows of a prepared matrix, or
drug responses joined to their cell-line and drug features.

:func:`make_feed` is the one place that tells the two kinds apart. Both answer what a trial
needs, in the order it needs it:

- on creation: the dataset loaded, the role's rows (train, eval, further predicted splits), the
  classes, label encoding and feature count the task is made from;
- :meth:`Feed.scale`: a scaler fitted on the training rows only (saved as ``scaler.json``), the
  inputs scaled, the targets made (with the role's label and feature noise, training rows only);
- :meth:`Feed.training`, :meth:`Feed.evaluation`, :meth:`Feed.prediction`: the tf.data
  pipelines of :mod:`candle_lib.trial.feeds`;
- :meth:`Feed.scores`, :meth:`Feed.predictions`: metrics and the predictions table of the
  predicted rows (eval rows first).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from candle_lib.atomic import write_json, write_text
from candle_lib.data.drug_prepared import is_drug_prepared, load_drug_prepared
from candle_lib.data.prepared import load_prepared
from candle_lib.data.row_reader import read_npy_rows
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import task_kind
from candle_lib.trial.feeds import (
    JoinedInputs,
    eval_dataset,
    joined_eval_dataset,
    joined_training_dataset,
    training_dataset,
)
from candle_lib.trial.roles import add_feature_noise, noisy_label_codes, noisy_targets, role_rows
from candle_lib.trial.scaling import fit_scaler, scale_in_place, scaler_to_json
from candle_lib.trial.tasks import ClassificationTask

CONV_MODELS = ("nt3", "tc1")  # their input rows get a channel axis


def make_feed(dataset_dir, params: dict, role: dict) -> Feed:
    """The feed of a trial's prepared dataset: drug responses when the directory holds a
    responses table, expression rows otherwise."""
    if is_drug_prepared(dataset_dir):
        return DrugResponseFeed(dataset_dir, params, role)
    return ExpressionFeed(dataset_dir, params, role)


class Feed:
    """What both kinds share: the role's rows of the sample table, targets, scores, predictions."""

    n_features: int

    def __init__(self, data, params: dict, role: dict):
        self.data, self.params, self.role = data, params, role
        self.samples = data.samples
        self.classes = list(data.classes)
        self.encoding = data.manifest.get("preparation", {}).get("labels", {}).get("encoding", "one_hot")
        rows = role_rows(self.samples, role)
        self.train_rows, self.eval_rows, self.prefix = rows.train, rows.eval, rows.prefix
        self.extra = rows.extra  # split -> rows predicted (and scored) besides the eval rows
        self.predicted_rows = np.concatenate([self.eval_rows, *self.extra.values()]).astype(np.int64)
        self.n_train = len(self.train_rows)

    def scale(self, task, out_dir: Path) -> None:
        """Fit the scaler on the training rows, save it as ``out_dir/scaler.json``, and hold the
        scaled inputs and the targets of the training, eval and predicted rows."""
        raise NotImplementedError

    def training_targets(self, task, x_train) -> np.ndarray:
        """The targets of the training rows, with the role's label noise (training rows only)."""
        train_samples = self.samples.iloc[self.train_rows]
        share = self.role.get("label_noise")
        if not share:
            return task.targets(train_samples, x_train)
        seed = self.role.get("noise_seed", 0)
        if isinstance(task, ClassificationTask):
            codes = noisy_label_codes(train_samples["label_code"].to_numpy(), len(self.classes), share, seed)
            return task.targets(train_samples.assign(label_code=codes), x_train)
        return noisy_targets(task.targets(train_samples, x_train), float(share), seed)

    def eval_features(self) -> np.ndarray | None:
        """The scaled input rows of the predicted rows, for tasks scored on their inputs
        (reconstruction); None where the rows are not held as one matrix."""
        return None

    def scores(self, task, outputs: np.ndarray) -> dict:
        """Metrics of the eval rows (prefix val/test), then of each further predicted split."""
        x_pred = self.eval_features()
        train_samples = self.samples.iloc[self.train_rows]
        metrics, start = {}, 0
        for prefix, rows in {self.prefix: self.eval_rows, **self.extra}.items():
            stop = start + len(rows)
            if len(rows):
                part_x = None if x_pred is None else x_pred[start:stop]
                metrics.update(
                    task.metrics(prefix, self.samples.iloc[rows], part_x, outputs[start:stop], train_samples)
                )
            start = stop
        return metrics

    def predictions(self, task, outputs: np.ndarray):
        """The predictions table of the first ``len(outputs)`` predicted rows."""
        rows = self.predicted_rows[: len(outputs)]
        x_pred = self.eval_features()
        return task.predictions(self.samples.iloc[rows], None if x_pred is None else x_pred[: len(rows)], outputs)


class ExpressionFeed(Feed):
    """Rows of a prepared expression matrix, held as arrays: read once into memory that
    TensorFlow then uses as it is, and scaled in place; batches gathered from the training rows."""

    def __init__(self, dataset_dir, params: dict, role: dict):
        super().__init__(load_prepared(dataset_dir), params, role)
        self.matrix_path = Path(dataset_dir) / "matrix.npy"
        self.n_features = self.data.matrix.shape[1]
        self.x_pred = None  # the predicted rows (eval rows first), once scaled

    def scale(self, task, out_dir: Path) -> None:
        scaling = self.params["scaling"]
        x_train = read_npy_rows(self.matrix_path, self.train_rows)
        scaler = fit_scaler(scaling, x_train)
        write_text(out_dir / "scaler.json", scaler_to_json(scaling, scaler))
        scale_in_place(scaler, x_train)
        x_pred = scale_in_place(scaler, read_npy_rows(self.matrix_path, self.predicted_rows))
        if self.role.get("feature_noise"):
            add_feature_noise(x_train, float(self.role["feature_noise"]), self.role.get("noise_seed", 0))
        self.y_train = self.training_targets(task, x_train)
        self.y_eval = task.targets(self.samples.iloc[self.eval_rows], x_pred[: len(self.eval_rows)])
        if self.params["model"] in CONV_MODELS:
            x_train, x_pred = x_train[..., None], x_pred[..., None]
        self.x_train, self.x_pred = x_train, x_pred
        self.x_eval = x_pred[: len(self.eval_rows)]

    def input_width(self) -> int:
        return self.n_features

    def training(self, weights, **schedule):
        return training_dataset(self.x_train, self.y_train, weights, **schedule)

    def evaluation(self, batch_size: int, share=None):
        return eval_dataset(self.x_eval, self.y_eval, batch_size=batch_size, share=share)

    def prediction(self, batch_size: int):
        return eval_dataset(self.x_pred, None, batch_size=batch_size)

    def eval_features(self) -> np.ndarray:
        if self.x_pred is None:  # not scaled (the trial failed before): no rows
            return np.zeros((0, self.n_features), dtype=np.float32)
        return self.x_pred.reshape(len(self.x_pred), -1)


class DrugResponseFeed(Feed):
    """Drug responses: the cell-line and drug feature matrices, each scaled on the rows that
    training responses use; every batch is assembled from the join indices."""

    def __init__(self, dataset_dir, params: dict, role: dict):
        super().__init__(load_drug_prepared(dataset_dir), params, role)
        if task_kind(params) != "regression":
            raise CandleInputError(
                "drug-response data need task: regression and model: dense (or a model of your own)", where="params"
            )
        if "feature_noise" in role:
            raise CandleInputError(
                "feature noise needs an expression dataset (drug responses join several feature tables)",
                where="role.feature_noise",
            )
        self.n_features = self.data.n_features  # cell features, drug features, dose

    def scaled_blocks(self, out_dir: Path) -> dict:
        """{"cell": ..., "drug": ...}: each feature matrix scaled by a scaler fitted on the rows
        that training responses use (saved as ``out_dir/scaler.json``). No TensorFlow."""
        responses = self.samples
        scaled, saved = {}, {}
        for block, matrix in (("cell", self.data.cell), ("drug", self.data.drug)):
            used = np.unique(responses[f"{block}_row"].to_numpy()[self.train_rows])
            scaler = fit_scaler(self.params["scaling"], matrix[used])
            saved[block] = json.loads(scaler_to_json(self.params["scaling"], scaler))
            scaled[block] = scale_in_place(scaler, np.array(matrix, dtype=np.float32))
        write_json(out_dir / "scaler.json", saved)
        return scaled

    def joined_rows(self, scaled: dict, rows: np.ndarray) -> np.ndarray:
        """The model inputs ``[cell features | drug features | dose]`` of responses ``rows``, as
        one float32 matrix (for a model run out of process; a Keras trial joins batch by batch)."""
        part = self.samples.iloc[rows]
        dose = part["dose"].to_numpy(dtype=np.float32)[:, None]
        return np.concatenate(
            [scaled["cell"][part["cell_row"].to_numpy()], scaled["drug"][part["drug_row"].to_numpy()], dose], axis=1
        )

    def scale(self, task, out_dir: Path) -> None:
        responses = self.samples
        scaled = self.scaled_blocks(out_dir)

        def inputs(rows):
            part = responses.iloc[rows]
            return JoinedInputs(scaled["cell"], scaled["drug"], part["cell_row"], part["drug_row"], part["dose"])

        self.train_inputs, self.y_train = inputs(self.train_rows), self.training_targets(task, None)
        self.eval_inputs, self.y_eval = inputs(self.eval_rows), task.targets(responses.iloc[self.eval_rows], None)
        self.predict_inputs = inputs(self.predicted_rows)
        self.y_predict = task.targets(responses.iloc[self.predicted_rows], None)

    def input_width(self) -> int:
        return self.n_features

    def training(self, weights, **schedule):
        return joined_training_dataset(self.train_inputs, self.y_train, weights, **schedule)

    def evaluation(self, batch_size: int, share=None):
        return joined_eval_dataset(self.eval_inputs, self.y_eval, batch_size=batch_size, share=share)

    def prediction(self, batch_size: int):
        return joined_eval_dataset(self.predict_inputs, self.y_predict, batch_size=batch_size).map(lambda x, y: x)
