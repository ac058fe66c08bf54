"""Adapter: generate the built-in drug-response set and write its three tables."""

from candle_lib.atomic import write_table
from candle_lib.data.config_checks import GENERATORS, generator_arguments
from candle_lib.logged_step import run_logged


def main(sm):
    variant, arguments = generator_arguments(sm.params.synthetic)
    data = GENERATORS[variant](**arguments)
    write_table(sm.output.responses, data.responses)
    write_table(sm.output.cell_features, data.cell_features)
    write_table(sm.output.drug_features, data.drug_features)
    print(f"{len(data.responses)} responses, {len(data.cell_features)} cell lines, {len(data.drug_features)} drugs")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
