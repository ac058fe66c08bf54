"""The ``tda`` config section made concrete: which analyses run, on what, scored how.

Unset values follow the data config: the learning curve's fractions are
``data.splits.subsample_fractions`` (plus 1) and its draws ``data.splits.subsample_repeats``;
the group analyses need ``data.splits.logo_column``. An analysis named in ``tda.analyses``
whose data columns are missing is an error naming the key to set.
"""

from __future__ import annotations

from itertools import permutations

from candle_lib.data.config_checks import is_drug_response
from candle_lib.errors import CandleInputError
from candle_lib.params.declared import config_specs
from candle_lib.params.specs import resolve_params, task_kind

ANALYSES = ("learning_curve", "group_matrix", "transfer", "representation", "noise")
GROUP_ANALYSES = ("group_matrix", "transfer")


def base_params(config: dict) -> dict:
    """The hyperparameters of every TDA trial: the model section, then ``tda.params``."""
    specs = config_specs(config)
    return resolve_params(config["model"], config["tda"].get("params") or {}, where="tda.params", specs=specs)


def metric_of(config: dict) -> str:
    """``tda.metric``; unset: accuracy for classifiers, mse for regression."""
    metric = config["tda"].get("metric")
    if metric:
        return metric
    params = base_params(config)
    return "mse" if task_kind(params) == "regression" else "accuracy"


def _splits(config: dict) -> dict:
    return config["data"]["splits"]


def _allowed(config: dict) -> dict[str, str | None]:
    """Each analysis -> None when the data config allows it, else why not."""
    splits = _splits(config)
    fractions = [f for f in splits.get("subsample_fractions", []) if f < 1]
    expression = not is_drug_response(config["data"])
    no_groups = None if splits.get("logo_column") else "set data.splits.logo_column (the group column)"
    return {
        "learning_curve": None if fractions else "set data.splits.subsample_fractions (e.g. [0.25, 0.5])",
        "group_matrix": no_groups,
        "transfer": no_groups
        or (None if fractions else "set data.splits.subsample_fractions (the target's fractions)"),
        "representation": None if expression else "the autoencoder needs an expression dataset, not drug responses",
        "noise": None,
    }


def analyses(config: dict) -> list[str]:
    """The analyses the ``tda`` target runs: ``tda.analyses``, or every one the data allows."""
    allowed = _allowed(config)
    asked = config["tda"].get("analyses")
    if asked is None:
        return [a for a in ANALYSES if allowed[a] is None]
    for name in asked:
        if allowed[name]:
            raise CandleInputError(
                f"config key 'tda.analyses': {name} needs data the config does not make: {allowed[name]}"
            )
    return [a for a in ANALYSES if a in asked]


def _check_fractions(config: dict, fractions, repeats: int, key: str) -> None:
    splits = _splits(config)
    made = {float(f) for f in splits.get("subsample_fractions", [])}
    missing = sorted(float(f) for f in fractions if float(f) < 1 and float(f) not in made)
    if missing:
        raise CandleInputError(
            f"config key 'tda.{key}.fractions': {missing} are not in data.splits.subsample_fractions {sorted(made)}"
        )
    if repeats > splits.get("subsample_repeats", 1):
        raise CandleInputError(
            f"config key 'tda.{key}.repeats': {repeats} draws, but data.splits.subsample_repeats makes {splits.get('subsample_repeats', 1)}"
        )


def learning_curve_settings(config: dict) -> tuple[list[float], int]:
    """(fractions, repeats); 1.0 is always on the curve (the model of all training rows)."""
    section, splits = config["tda"]["learning_curve"], _splits(config)
    fractions = section.get("fractions") or splits.get("subsample_fractions", [])
    repeats = section.get("repeats") or splits.get("subsample_repeats", 1)
    _check_fractions(config, fractions, repeats, "learning_curve")
    return sorted({float(f) for f in fractions} | {1.0}), int(repeats)


def transfer_settings(config: dict, groups: list[str]) -> tuple[list[tuple[str, str]], list[float], int]:
    """(pairs, fractions, repeats); unset pairs = every ordered pair of groups, unset fractions =
    the subsample fractions below 1."""
    section = config["tda"]["transfer"]
    fractions = section.get("fractions") or [f for f in _splits(config).get("subsample_fractions", []) if f < 1]
    repeats = int(section.get("repeats", 1))
    _check_fractions(config, fractions, repeats, "transfer")
    pairs = (
        [tuple(str(g) for g in pair) for pair in section["pairs"]]
        if section.get("pairs")
        else list(permutations(groups, 2))
    )
    for pair in pairs:
        unknown = [g for g in pair if g not in groups]
        if unknown or pair[0] == pair[1]:
            raise CandleInputError(
                f"config key 'tda.transfer.pairs': {list(pair)} must name two different groups of {groups}"
            )
    return pairs, sorted({float(f) for f in fractions}), repeats


def noise_settings(config: dict) -> tuple[list[float], list[float], int]:
    section = config["tda"]["noise"]
    return list(section["label"]), list(section["feature"]), int(section["seeds"])
