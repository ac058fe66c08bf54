"""Adapter: the fold trials -> results/cv/folds.tsv, summary.tsv, oof_predictions.parquet, plot."""

from pathlib import Path

import pandas as pd

from candle_lib.atomic import write_table
from candle_lib.cv import (
    cv_summary,
    fold_table,
    out_of_fold_predictions,
    plot_fold_metric,
)
from candle_lib.logged_step import run_logged


def main(sm):
    dirs = {int(fold): Path(sm.params.trials_root) / tid for fold, tid in sm.params.folds.items()}
    folds = fold_table(dirs)
    summary = cv_summary(folds)
    write_table(sm.output.folds, folds)
    write_table(sm.output.summary, summary)
    write_table(sm.output.oof, out_of_fold_predictions(dirs, pd.read_parquet(sm.input.samples)))
    plot_fold_metric(folds, summary, sm.params.metric, sm.output.plot)
    for row in summary.itertuples():
        print(
            f"{row.metric}: {row.mean:.4g} ± {row.sd:.3g} (95% CI {row.ci_low:.4g}..{row.ci_high:.4g}, {row.n} folds)"
        )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
