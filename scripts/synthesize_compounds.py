"""Adapter: generate the built-in Tox21-like compounds and write their raw tables."""

from candle_lib.atomic import write_table
from candle_lib.data.config_checks import GENERATORS, generator_arguments
from candle_lib.logged_step import run_logged


def main(sm):
    variant, arguments = generator_arguments(sm.params.synthetic)
    compounds = GENERATORS[variant](**arguments)
    for name, table in compounds.raw_tables().items():
        write_table(sm.output[name], table)
    blocks = {name: compounds.block(name).shape[1] for name in ("descriptors", "similarities", "ecfp4")}
    print(
        f"{variant}: {len(compounds.compounds)} compounds, features per block {blocks}, {compounds.compounds['label'].eq('active').sum()} active"
    )


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
