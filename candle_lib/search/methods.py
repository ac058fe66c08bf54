"""Turn a validated config into the trials it needs, keyed by content-addressed id.

Methods (``hpo.method``):

- ``grid``: every point of the space (:mod:`.grid`);
- ``random``: the first ``hpo.n_trials`` distinct trials of a stream seeded by ``hpo.seed``
  (:mod:`.random_search`); raising ``n_trials`` keeps every earlier trial;
- ``upf``: the points of a CANDLE Supervisor UPF file ``hpo.upf`` (:mod:`.upf`);
- ``bayesian``: rounds of ``hpo.bayesian.per_round`` proposals, each round planned from the
  results of the earlier ones by :func:`plan_round` (:mod:`.rounds`, :mod:`.bayesian`).

A trial's spec is {params, role, data}: the resolved hyperparameters, the holdout role and the
id of its prepared-data variant. Dimensions named ``data.<option>`` make several variants; each
distinct combination is one id, prepared once and shared by every trial that uses it.
"""

from __future__ import annotations

from itertools import product

from candle_lib.errors import CandleInputError
from candle_lib.search.bayesian import make_sampler
from candle_lib.search.data_variants import prep_id
from candle_lib.search.grid import expand_grid
from candle_lib.search.plan_builder import Planner, SearchPlan, plan_points, space_of
from candle_lib.search.random_search import random_points
from candle_lib.search.rounds import (
    bayesian_options,
    plan_round,
    possible_variants,
    round_history,
)
from candle_lib.search.space import grid_values
from candle_lib.search.upf import read_upf
from candle_lib.search.value_cache import content_key
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_spec

__all__ = [
    "FINAL",
    "HOLDOUT",
    "SearchPlan",
    "check_hpo",
    "data_variants",
    "final_spec",
    "plan_hpo",
    "plan_points",
    "plan_round",
    "plan_search",
    "prep_id",
    "round_history",
    "parameter_settings",
    "varied_keys",
]

METHODS = ("grid", "random", "upf", "bayesian")
RANDOM_DRAWS_PER_TRIAL = 100


def _require(hpo: dict, key: str, method: str):
    if hpo.get(key) is None:
        raise CandleInputError(f"required when hpo.method is {method}", where=f"hpo.{key}")
    return hpo[key]


def _plan_random(config: dict, dimensions) -> SearchPlan:
    hpo = config["hpo"]
    n_trials = _require(hpo, "n_trials", "random")
    planner = Planner(config, dimensions)
    stream = random_points(dimensions, hpo.get("seed", 0))
    for _ in range(RANDOM_DRAWS_PER_TRIAL * n_trials):
        if len(planner.plan.trials) == n_trials:
            return planner.plan
        planner.add(next(stream))
    raise CandleInputError(
        f"found only {len(planner.plan.trials)} distinct trials in {RANDOM_DRAWS_PER_TRIAL * n_trials} draws; "
        "lower n_trials or widen hpo.space",
        where="hpo.n_trials",
    )


def plan_search(config: dict) -> SearchPlan:
    """The whole plan of a grid, random or UPF search: trials, their points, data variants."""
    hpo = config["hpo"]
    method = hpo["method"]
    if method == "grid":
        dimensions = space_of(hpo)
        planner = Planner(config, dimensions)
        for point in expand_grid(dimensions):
            planner.add(point)
        return planner.plan
    if method == "random":
        return _plan_random(config, space_of(hpo))
    if method == "upf":
        path = _require(hpo, "upf", "upf")
        return plan_points(config, read_upf(path), where=str(path))
    if method == "bayesian":
        raise CandleInputError(
            "bayesian searches are planned round by round: use plan_round(config, round_index, history)",
            where="hpo.method",
        )
    raise CandleInputError(f"{method!r} is not one of {list(METHODS)}", where="hpo.method")


def plan_hpo(config: dict) -> dict[str, dict]:
    """Trial specs of the configured search, in search order (dicts keep insertion order)."""
    return plan_search(config).trials


def data_variants(config: dict) -> dict[str, dict]:
    """{prep id: data config} of every prepared variant the search uses, each once. For a
    Bayesian search, every combination its data dimensions allow: a lookup table for the
    preparation rule, of which only the variants that proposals use get built."""
    if config["hpo"]["method"] == "bayesian":
        return possible_variants(config)
    return plan_search(config).variants


def varied_keys(config: dict) -> list[str]:
    """The hyperparameter names and ``data.`` keys that the search varies (bundles expanded,
    switches left out), in space order: the columns an aggregate table shows first."""
    hpo = config["hpo"]
    planner = Planner(config, space_of(hpo))
    if hpo["method"] != "upf":
        return planner.binding.varied_keys()
    keys: dict[str, None] = {}
    for point in read_upf(hpo["upf"]):
        params, data = planner.binding.overrides({k: v for k, v in point.items() if k != "id"})
        keys.update(dict.fromkeys([*params, *data]))
    return list(keys)


def check_hpo(config: dict) -> None:
    """Check ``hpo`` without planning it: every dimension's structure, names and values, and
    each method's options. Errors name the key (``hpo.space.<name>``, ``hpo.n_trials``...)."""
    hpo = config["hpo"]
    method = hpo["method"]
    if method not in METHODS:
        raise CandleInputError(f"{method!r} is not one of {list(METHODS)}", where="hpo.method")
    dimensions = space_of(hpo)
    planner = Planner(config, dimensions)
    for dimension in dimensions:
        for value in (dimension.low, dimension.high) if dimension.is_range else dimension.values:
            planner.binding.overrides({dimension.name: value})
        if method == "grid":
            grid_values(dimension)
    if method == "random":
        _require(hpo, "n_trials", "random")
    elif method == "upf":
        plan_points(config, read_upf(_require(hpo, "upf", "upf")), where=str(hpo["upf"]))
    elif method == "bayesian":
        options = bayesian_options(hpo)
        make_sampler(options["sampler"], 0, options["startup_trials"], False)


def parameter_settings(config: dict, names) -> list[dict]:
    """The resolved hyperparameters of the model section, once for each setting of ``names``
    that a trial of the configured search may take: each combination of the values the space's
    dimensions (or the UPF file's points) give them. A name may be a data option
    (``data.filters.top_variance``): its value rides along under that key. A dimension's ``when``
    is not followed, so the list may hold a setting that no trial takes; it misses none."""
    hpo = config["hpo"]
    planner = Planner(config, space_of(hpo))
    base = dict(planner.base_params)
    for name in names:
        if name.startswith("data."):
            node = config["data"]
            for part in name[len("data.") :].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            base[name] = node

    def setting(point: dict) -> dict:
        params, data = planner.binding.overrides(point)
        given = {**params, **data}
        return {k: given[k] for k in names if k in given}

    if hpo["method"] == "upf":
        combinations = [(setting({k: v for k, v in point.items() if k != "id"}),) for point in read_upf(hpo["upf"])]
    else:
        choices = []
        for dimension in planner.binding.dimensions.values():
            values = (dimension.low, dimension.high) if dimension.is_range else dimension.values
            options = {}
            for value in values:
                found = setting({dimension.name: value})
                options.setdefault(content_key(found), found)
            if len(options) > 1 or any(options.values()):
                choices.append(list(options.values()))
        combinations = product(*choices)
    settings = {}
    for combination in combinations:
        merged = {k: base[k] for k in names}
        for part in combination:
            merged.update(part)
        settings.setdefault(content_key(merged), {**base, **merged})
    return list(settings.values())


def final_spec(best: dict, *, prepared: str) -> dict:
    """The spec of the production retraining: the best trial's params on train+val, test once."""
    if best["data"] != prepared:
        raise ValueError(f"best trial used dataset {best['data']} but {prepared} was given")
    return trial_spec(best["params"], role=FINAL, data=best["data"])
