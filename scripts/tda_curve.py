"""Adapter: a learning curve or noise curve table, its per-trial table and its plot."""

from candle_lib.atomic import atomic_path, write_table
from candle_lib.logged_step import run_logged
from candle_lib.tda.plots import plot_learning_curve, plot_noise_curve
from candle_lib.tda.tables import curve_tables

PLOTS = {"learning_curve": plot_learning_curve, "noise_curve": plot_noise_curve}


def main(sm):
    p = sm.params
    summary, trials = curve_tables(p.points, p.trials_root, p.metric, p.split, list(p.by))
    write_table(sm.output.summary, summary)
    write_table(sm.output.trials, trials)
    with atomic_path(sm.output.plot) as path:
        PLOTS[sm.wildcards.curve](summary, p.metric, p.split, path)
    print(summary.to_string(index=False))


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
