"""MC dropout: a saved member's forward passes with dropout on, for its val and test rows,
written like a member's predictions (the same columns) plus the pass number. Imports Keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.data.prepared import load_prepared
from candle_lib.data.row_reader import read_npy_rows
from candle_lib.trial.saved_model import load_trial_model
from candle_lib.trial.tasks import task_for

SPLITS = ("val", "test")


def mc_dropout_predictions(trial_dir, dataset_dir, passes: int, seed: int = 0) -> pd.DataFrame:
    model = load_trial_model(trial_dir)
    data = load_prepared(dataset_dir)
    rows = np.flatnonzero(data.samples["split"].isin(SPLITS).to_numpy())
    x = read_npy_rows(Path(dataset_dir) / "matrix.npy", rows)
    outputs = model.sample(x, passes, seed=seed)
    encoding = data.manifest.get("preparation", {}).get("labels", {}).get("encoding", "one_hot")
    task = task_for(model.params, list(data.classes), encoding, x.shape[1])
    samples = data.samples.iloc[rows]
    return pd.concat(
        [task.predictions(samples, x, outputs[p]).assign(**{"pass": p}) for p in range(passes)], ignore_index=True
    )
