"""Adapter: the proposals of one Bayesian round, from every earlier round's points and metrics."""

import json
from pathlib import Path

from candle_lib.logged_step import run_logged
from candle_lib.search.methods import plan_round
from candle_lib.search.rounds import round_history
from candle_lib.search.upf import read_upf, upf_rows, write_upf


def main(sm):
    rounds = [read_upf(path) for path in sm.input.rounds]
    metrics = {Path(path).parent.name: json.loads(Path(path).read_text()) for path in sm.input.metrics}
    config = sm.params.config
    history = round_history(rounds, metrics, config["hpo"]["objective"])
    plan = plan_round(config, sm.params.round, history)
    write_upf(sm.output.upf, upf_rows(plan.points))
    failed = sum(value is None for _, value in history)
    print(f"round {sm.params.round}: {len(plan.points)} proposals from {len(history)} earlier trials ({failed} failed)")


run_logged(snakemake.log[0], main, snakemake)  # noqa: F821
