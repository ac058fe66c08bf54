"""Adapter: a result table (TSV) -> a small HTML page the report shows inline."""

import pandas as pd

from candle_lib.atomic import write_text
from candle_lib.logged_step import run_logged
from candle_lib.render import html_page


def main(sm):
    table = pd.read_csv(sm.input.table, sep="\t")
    title = sm.params.title.format(table=sm.wildcards.table)
    write_text(sm.output.page, html_page(title, [(sm.input.table, table)]))


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
