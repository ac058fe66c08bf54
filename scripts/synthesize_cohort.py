"""Adapter: generate the built-in synthetic cohort and write its three raw input files."""

from candle_lib.atomic import write_table
from candle_lib.steps import run_logged
from candle_lib.synthetic import synthetic_nt3_cohort


def main(sm):
    cohort = synthetic_nt3_cohort(**sm.params.synthetic)
    write_table(sm.output.counts, cohort.counts.reset_index())
    write_table(sm.output.genes, cohort.genes)
    write_table(sm.output.samples, cohort.samples)
    print(f"{len(cohort.samples)} samples, {len(cohort.genes)} genes, {len(cohort.differential_genes)} differential")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
