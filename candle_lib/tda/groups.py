"""The groups of a prepared dataset (column ``logo_group``, from ``data.splits.logo_column``)
that group-wise trainings can use: a group needs training, validation and test rows."""

from __future__ import annotations

import pandas as pd

from candle_lib.errors import CandleInputError
from candle_lib.tda.design import GROUP_COLUMN

NEEDED_SPLITS = ("train", "val", "test")


def usable_groups(samples: pd.DataFrame, wanted=None) -> tuple[list[str], dict[str, str]]:
    """(groups, {left-out group: why}). ``wanted`` (a list) picks and orders the groups; a wanted
    group that is missing or lacks a split is an error naming it. Unset: every group with rows in
    train, val and test, sorted."""
    if GROUP_COLUMN not in samples.columns:
        raise CandleInputError(f"the prepared samples have no {GROUP_COLUMN} column: set data.splits.logo_column")
    groups = samples[GROUP_COLUMN].astype(str)
    counts = pd.crosstab(groups, samples["split"]).reindex(columns=list(NEEDED_SPLITS), fill_value=0)
    lacking = {
        g: "no " + ", ".join(s for s in NEEDED_SPLITS if counts.loc[g, s] == 0) + " rows"
        for g in counts.index
        if (counts.loc[g] == 0).any()
    }
    if wanted is None:
        return sorted(g for g in counts.index if g not in lacking), lacking
    wanted = [str(g) for g in wanted]
    for g in wanted:
        if g not in counts.index:
            raise CandleInputError(
                f"config key 'tda.groups': group {g!r} is not in the data (groups: {sorted(counts.index)})"
            )
        if g in lacking:
            raise CandleInputError(f"config key 'tda.groups': group {g!r} has {lacking[g]}")
    return wanted, {g: "not in tda.groups" for g in counts.index if g not in wanted}
