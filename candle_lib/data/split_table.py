"""The one split table of a dataset, built from the ``data.splits`` config: train/val/test and
k folds (stratified by label, grouped by ``group`` when the samples have one, with the rows of a
given test file as the test part), then the optional subsample, bootstrap and
leave-one-group-out columns."""

from __future__ import annotations

import pandas as pd

from candle_lib.data.split_methods import (
    assign_splits,
    bootstrap_resamples,
    fractional_subsamples,
    leave_one_group_out,
)

CORE_KEYS = ("test_fraction", "val_fraction", "n_folds", "seed")


def build_split_table(samples: pd.DataFrame, splits: dict) -> pd.DataFrame:
    """``samples`` has sample_id, label and optionally group, split_hint, logo_group."""
    fixed_test = (samples["split_hint"] == "test").to_numpy() if "split_hint" in samples.columns else None
    table = assign_splits(
        samples["sample_id"],
        samples["label"],
        samples["group"] if "group" in samples.columns else None,
        fixed_test=fixed_test,
        **{key: splits[key] for key in CORE_KEYS if key in splits},
    )
    seed = splits.get("seed", 0)
    if splits.get("subsample_fractions"):
        table = fractional_subsamples(
            table,
            splits["subsample_fractions"],
            splits.get("subsample_repeats", 1),
            seed,
            pool="train",
            labels=samples["label"].to_numpy(),
        )
    if splits.get("bootstrap"):
        table = bootstrap_resamples(table, splits["bootstrap"], seed, pool="train", labels=samples["label"].to_numpy())
    if "logo_group" in samples.columns:
        table = leave_one_group_out(table, samples["logo_group"].to_numpy())
    return table
