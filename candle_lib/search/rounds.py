"""Bayesian searches, round by round: each round's trials from the results of the earlier ones.

A workflow keeps one UPF file per round (``{"id": trial id, **point}`` per line, see
:func:`candle_lib.search.upf.upf_rows`); :func:`round_history` turns those files and the
trials' metrics.json into the history that :func:`plan_round` needs for the next round.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from candle_lib.errors import CandleInputError
from candle_lib.search.bayesian import suggest_points
from candle_lib.search.bindings import BUNDLE, DATA
from candle_lib.search.objective import objective_value
from candle_lib.search.plan_builder import Planner, SearchPlan, plan_points, space_of
from candle_lib.search.space import grid_values


def bayesian_options(hpo: dict) -> dict:
    """``hpo.bayesian`` with its defaults: tpe, 4 rounds of 4, one round of random start."""
    options = dict(hpo.get("bayesian") or {})
    options.setdefault("sampler", "tpe")
    options.setdefault("per_round", 4)
    options.setdefault("rounds", 4)
    if options.get("startup_trials") is None:
        options["startup_trials"] = options["per_round"]
    return options


def plan_round(config: dict, round_index: int, history: Sequence[tuple[Mapping, float | None]]) -> SearchPlan:
    """Round ``round_index`` (0-based) of a Bayesian search, given (point, objective or None)
    for every earlier trial. The same config and history always give the same round."""
    hpo = config["hpo"]
    options = bayesian_options(hpo)
    if not 0 <= round_index < options["rounds"]:
        raise CandleInputError(
            f"round {round_index} is outside 0..{options['rounds'] - 1}", where="hpo.bayesian.rounds"
        )
    dimensions = space_of(hpo)
    points = suggest_points(
        dimensions,
        round_index=round_index,
        seed=hpo.get("seed", 0),
        n_proposals=options["per_round"],
        history=history,
        direction=hpo["objective"]["direction"],
        sampler=options["sampler"],
        startup_trials=options["startup_trials"],
    )
    planner = Planner(config, dimensions)
    for point in points:
        planner.add(point)
    return planner.plan


def round_history(
    rounds: Sequence[Sequence[Mapping]], metrics: Mapping[str, Mapping], objective: Mapping
) -> list[tuple[dict, float | None]]:
    """(point, objective or None) of every earlier trial, from the rounds' UPF rows
    ({"id": trial id, **point}) and each trial's metrics.json by trial id."""
    history = []
    for rows in rounds:
        for row in rows:
            point = {k: v for k, v in row.items() if k != "id"}
            history.append((point, objective_value(metrics[row["id"]], objective)))
    return history


def possible_variants(config: dict) -> dict[str, dict]:
    """Every prepared-data variant that the space's data dimensions allow (a proposal may use
    any of them): the product of the data settings of each dimension that sets data options."""
    planner = Planner(config, space_of(config["hpo"]))
    choices = []
    for dimension in planner.binding.dimensions.values():
        if planner.binding.kinds[dimension.name] not in (DATA, BUNDLE):
            continue
        if dimension.is_range and dimension.type != "int":
            raise CandleInputError(
                "a data-preparation dimension of a Bayesian search lists its values (or is an int range)",
                where=dimension.where,
            )
        options = [planner.binding.overrides({dimension.name: value})[1] for value in grid_values(dimension)]
        if any(options):
            choices.append(options + [{}] if dimension.when else options)
    for combination in itertools.product(*choices):
        planner.data_id({key: value for settings in combination for key, value in settings.items()})
    return planner.plan.variants


def round_trials(config: dict, rounds: Sequence[Sequence[Mapping]]) -> dict[str, dict]:
    """{trial id: spec} of the trials that written rounds (UPF rows) propose. Each row's id must
    be the id its point plans to: a round file edited by hand is refused, not half-trusted."""
    specs: dict[str, dict] = {}
    for rows in rounds:
        plan = plan_points(config, rows)
        for trial_id, label in plan.labels.items():
            if trial_id != label:
                raise CandleInputError(
                    f"a round proposes trial '{label}' but its point plans to trial '{trial_id}'", where="hpo.bayesian"
                )
        specs.update(plan.trials)
    return specs
