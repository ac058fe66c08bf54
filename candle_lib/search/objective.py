"""The search objective: one metric of a trial's metrics.json, minimized or maximized; and the
parse-time checks that every metric a config names (``hpo.objective.metric``, ``cv.metric``,
``tda.metric``) is one that the configured trials report."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import COMMAND_MODELS, model_form, task_kind

DIRECTIONS = ("minimize", "maximize")
# A metric's name ends with what it measures: lower is better for losses and errors.
MINIMIZED = ("loss", "mse", "mae", "gaussian_nll", "pinball")
MAXIMIZED = ("accuracy", "auc", "r2", "pearson", "correlation")


def objective_value(metrics: Mapping, objective: Mapping) -> float | None:
    """The trial's objective from its metrics.json (``status`` and a ``metrics`` mapping), or
    None where the trial failed or the metric is missing or not a finite number: a failure for
    the search, never a silent best."""
    if metrics.get("status") != "ok":
        return None
    value = (metrics.get("metrics") or {}).get(objective["metric"])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def default_direction(metric: str) -> str | None:
    """minimize for losses and errors, maximize for scores; None for a name of neither kind."""
    if metric.endswith(MINIMIZED):
        return "minimize"
    if metric.endswith(MAXIMIZED):
        return "maximize"
    return None


def fill_objective_direction(hpo: dict) -> None:
    """Set ``hpo.objective.direction`` from the metric's name where it is not given."""
    objective = hpo["objective"]
    if objective.get("direction") is None:
        direction = default_direction(objective["metric"])
        if direction is None:
            raise CandleInputError(
                f"config key 'hpo.objective.direction': required for metric '{objective['metric']}' "
                "(its name says neither a loss nor a score); set minimize or maximize"
            )
        objective["direction"] = direction


def reported_metrics(params: dict, prefix: str = "val") -> list[str]:
    """The metric names a trial with these resolved hyperparameters writes for its ``prefix``
    rows: found by scoring two dummy rows with the trial's own task
    (:func:`candle_lib.trial.tasks.task_for`), so the list never drifts from the task code."""
    import numpy as np
    import pandas as pd

    from candle_lib.trial.tasks import task_for

    task = task_for(params, ["a", "b"], "one_hot", 2)
    rows = pd.DataFrame({"label_code": [0, 1], "target": [0.0, 1.0]})
    outputs = np.full((2, task.n_outputs), 0.5)
    return sorted(task.metrics(prefix, rows, np.eye(2), outputs, rows))


def _what(params: dict) -> str:
    head = params.get("regression_head", "mean")
    if task_kind(params) == "regression":
        return f"model {params['model']}, task regression{'' if head == 'mean' else f', regression_head {head}'}"
    return f"model {params['model']}" + ("" if params["model"] == "p1b1" else f", task {params['task']}")


def _check_metric(metric: str, key: str, settings: list[dict], whose: str) -> None:
    for params in settings:
        if model_form(params["model"]) in COMMAND_MODELS:
            continue  # what a model run out of process reports is known when it has run
        known = reported_metrics(params)
        if metric not in known:
            close = [k for k in known if k.endswith(f"_{metric}") or k.startswith(metric)]
            close = close or difflib.get_close_matches(metric, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise CandleInputError(
                f"config key '{key}': '{metric}' is not a metric that {whose} report: a trial of {_what(params)} "
                f"writes {', '.join(known)}; {hint}no trial would have an objective"
            )


METRIC_NAMES = ("model", "task", "regression_head")


def check_metrics(config: dict) -> None:
    """``hpo.objective.metric`` must be written by every trial of the search (every setting of
    model, task and regression head its space may give), ``cv.metric`` by every fold trial, and
    ``tda.metric`` must fit the TDA trials' task (a classification score for classifiers, a
    regression score for regression). Errors name the key, the value and the metrics that exist."""
    from candle_lib.params.declared import config_specs
    from candle_lib.params.specs import resolve_params
    from candle_lib.search.methods import parameter_settings

    hpo_settings = parameter_settings(config, METRIC_NAMES)
    _check_metric(config["hpo"]["objective"]["metric"], "hpo.objective.metric", hpo_settings, "the search's trials")
    cv = config.get("cv") or {}
    if cv.get("metric"):
        specs = config_specs(config)
        base = hpo_settings if cv.get("params") == "best" else [specs.resolve(config["model"], where="model")]
        folds = [
            resolve_params(params, cv.get("overrides") or {}, where="cv.overrides", specs=specs) for params in base
        ]
        _check_metric(cv["metric"], "cv.metric", folds, "the cross-validation trials")
    metric = (config.get("tda") or {}).get("metric")
    if metric:
        from candle_lib.tda.options import base_params
        from candle_lib.tda.scoring import CLASSIFICATION, REGRESSION

        params = base_params(config)
        regression = task_kind(params) == "regression"
        fitting = REGRESSION if regression else tuple(CLASSIFICATION)
        if metric not in fitting:
            raise CandleInputError(
                f"config key 'tda.metric': '{metric}' scores {'classifiers' if metric in CLASSIFICATION else 'regression'}, "
                f"but the TDA trials ({_what(params)}) are {'regression' if regression else 'classifiers'}; "
                f"use one of {list(fitting)}"
            )
