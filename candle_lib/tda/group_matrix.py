"""Train group x test group: every group model (and each leave-one-group-out model, and the
model of all groups) scored on the test rows of each group separately."""

from __future__ import annotations

import pandas as pd

from candle_lib.tda.design import ALL_GROUPS, logo_name
from candle_lib.tda.tables import group_ids, score_points


def held_out(train: str, test_group: str, groups: list[str]) -> bool:
    """Whether ``test_group`` gave no training rows to the model named ``train``."""
    if train == ALL_GROUPS:
        return False
    if train in groups:
        return test_group != train
    return train == logo_name(test_group)


def group_matrix_table(
    points: list[dict], trials_root, samples: pd.DataFrame, groups: list[str], metric: str, split: str
) -> pd.DataFrame:
    """One row per (model, test group): train, test_group, held_out, trial, status, n_train,
    n_scored (the test group's rows of ``split``) and value."""
    ids = group_ids(samples)
    cells = [
        {"train": p["train"], "test_group": g, "held_out": held_out(p["train"], g, groups), "trial": p["trial"]}
        for p in points
        for g in groups
    ]
    return score_points(cells, trials_root, metric, split, subset=lambda cell: ids.get(cell["test_group"], []))


def group_matrix_wide(table: pd.DataFrame) -> pd.DataFrame:
    """Models as rows (in the table's order), test groups as columns, the metric in each cell."""
    wide = table.pivot(index="train", columns="test_group", values="value")
    return wide.reindex(index=list(dict.fromkeys(table["train"])), columns=list(dict.fromkeys(table["test_group"])))
