"""Adapter: trial directories -> results/hpo/trials.tsv and best.json."""

from pathlib import Path

from candle_lib.atomic import write_json, write_table
from candle_lib.logged_step import run_logged
from candle_lib.search.aggregate import best_summary, trials_table
from candle_lib.search.plots import write_search_plots


def main(sm):
    trial_dirs = [Path(sm.params.trials_root) / tid for tid in sm.params.trial_ids]
    objective = sm.params.objective
    table = trials_table(trial_dirs, objective["metric"], varied=sm.params.varied, data_columns=sm.params.data_columns)
    best = best_summary(table, trial_dirs, objective["metric"], objective["direction"])
    write_table(sm.output.table, table)
    write_json(sm.output.best, best)
    write_search_plots(
        table, sm.params.varied, objective["metric"], objective["direction"], Path(sm.output.plots[0]).parent
    )
    print(
        f"{len(table)} trials, {best['n_ok']} ok; best {best['trial_id']} {objective['metric']}={best['objective']['value']:.4g}"
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
