"""Adapter: the ensemble (and MC-dropout) tables and plots of results/uq/."""

from candle_lib.logged_step import run_logged
from candle_lib.uq.aggregate import write_uq_results


def main(sm):
    mc = sm.input.mc_dropout if "mc_dropout" in sm.input.keys() else None
    write_uq_results(
        sm.params.task,
        sm.params.members,
        sm.params.trials_root,
        dict(sm.output.items()),
        mc_samples=mc,
        levels=sm.params.levels,
        bins=sm.params.bins,
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
