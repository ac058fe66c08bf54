"""Adapter: generate the built-in synthetic cohort and write its three raw input files."""

from candle_lib.atomic import write_table
from candle_lib.data.config_checks import GENERATORS, generator_arguments
from candle_lib.logged_step import run_logged


def main(sm):
    variant, arguments = generator_arguments(sm.params.synthetic)
    cohort = GENERATORS[variant](**arguments)
    write_table(sm.output.counts, cohort.counts.reset_index())
    write_table(sm.output.genes, cohort.genes)
    write_table(sm.output.samples, cohort.samples)
    print(
        f"{variant}: {len(cohort.samples)} samples, {len(cohort.genes)} genes, {len(cohort.differential_genes)} differential"
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
