"""``candle status RESULTS``: print the progress of a study (see :mod:`candle_lib.report.progress`).
The options shared with ``candle serve`` (:mod:`candle_lib.report.dashboard`) live here too."""

from __future__ import annotations

import json
from pathlib import Path

from candle_lib.errors import CandleInputError
from candle_lib.report.progress import (
    STALE_AFTER,
    format_status,
    planned_trials,
    study_objective,
    summarize_study,
)


def add_study_options(parser) -> None:
    parser.add_argument(
        "results",
        nargs="?",
        default="results",
        help="the study's results folder (holding trials/), or a trials folder (default: results)",
    )
    parser.add_argument(
        "--config",
        metavar="YAML",
        help="the workflow config of the study: its search gives the planned total (and so the time left) and hpo.objective "
        "the metric and direction of 'best'; without it, every trial directory counts and the objective comes from results/hpo/best.json "
        "or the trials' own metrics.json",
    )
    parser.add_argument(
        "--stale-after",
        type=float,
        default=STALE_AFTER,
        metavar="SECONDS",
        help=f"a trial without metrics.json whose files have not changed for this long is counted as stalled (default: {STALE_AFTER:g})",
    )


class Study:
    """What a study's summary needs from the command line, resolved once (planning a large
    search takes a moment; the dashboard re-reads only the trial directories)."""

    def __init__(self, args):
        self.root = Path(args.results)
        if not self.root.is_dir():
            raise CandleInputError("no such results folder", source=str(self.root))
        config = _read_config(args.config) if args.config else None
        self.objective = study_objective(self.root, config)
        self.planned = planned_trials(config) if config is not None else None
        self.varied = searched_dimensions(config) if config is not None else None
        self.stale_after = args.stale_after

    def summary(self) -> dict:
        objective = self.objective or study_objective(self.root)  # best.json may appear later
        return summarize_study(
            self.root, objective=objective, planned=self.planned, varied=self.varied, stale_after=self.stale_after
        )


def searched_dimensions(config: dict) -> list[str]:
    from candle_lib.search.methods import varied_keys

    return list(varied_keys(config))


def _read_config(path: str) -> dict:
    from candle_lib.config import load_config

    file = Path(path)
    if not file.is_file():
        raise CandleInputError("no such config file", source=path)
    return load_config(file)


def add_status_parser(commands) -> None:
    status = commands.add_parser(
        "status",
        help="progress of a study: trials done/running/failed, best so far, rate, time left",
        description="Summarize a study from its trial directories (results/trials/<id>/): trials done, running and failed, the "
        "best so far, the rate of completed trials and the time left, the slowest trials and the failed ones with their reasons. "
        "Works while the workflow runs; reads files only.",
    )
    add_study_options(status)
    status.add_argument(
        "--json", action="store_true", help="print the whole summary as JSON (every trial) instead of text"
    )
    status.set_defaults(run=status_command)


def status_command(args) -> int:
    summary = Study(args).summary()
    print(json.dumps(summary, indent=2) if args.json else format_status(summary))
    return 0
