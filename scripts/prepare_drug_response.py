"""Adapter: join responses to cell-line and drug features as index columns; split; write."""

from pathlib import Path

from candle_lib.data.drug_prepared import prepare_drug_response_files
from candle_lib.logged_step import run_logged


def main(sm):
    out = Path(sm.output.manifest).parent
    manifest = prepare_drug_response_files(out, dict(sm.input), sm.params.columns, sm.params.splits)
    join = manifest["join"]
    print(f"{join['n_kept']} of {join['n_responses']} responses kept; dropped {join['n_dropped']}: {join}")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
