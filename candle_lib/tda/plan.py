"""The whole training-data analysis of a config: per analysis, its points and trial specs.

The group analyses (group matrix, transfer) need the groups, known once the data are prepared
(:func:`candle_lib.tda.groups.usable_groups`); without them only the other analyses are planned.
"""

from __future__ import annotations

from candle_lib.params.declared import config_specs
from candle_lib.tda import design
from candle_lib.tda import options as settings


def tda_plan(config: dict, prep: str, groups: list[str] | None = None) -> dict[str, tuple[list[dict], dict]]:
    """{analysis: (points, {trial id: spec})} of the analyses :func:`settings.analyses` selects;
    group_matrix and transfer only when ``groups`` is given."""
    params = settings.base_params(config)
    plan = {}
    for analysis in settings.analyses(config):
        if analysis == "learning_curve":
            plan[analysis] = design.learning_curve_points(params, prep, *settings.learning_curve_settings(config))
        elif analysis == "noise":
            plan[analysis] = design.noise_points(params, prep, *settings.noise_settings(config))
        elif analysis == "representation":
            tda = config["tda"]
            plan[analysis] = design.representation_points(
                config["model"],
                prep,
                tda["representation"].get("params") or {},
                tda.get("params") or {},
                specs=config_specs(config),
            )
        elif groups is not None and analysis == "group_matrix":
            plan[analysis] = design.group_matrix_points(params, prep, groups)
        elif groups is not None and analysis == "transfer":
            plan[analysis] = design.transfer_points(params, prep, *settings.transfer_settings(config, groups))
    return plan


def plan_trials(plan: dict) -> dict:
    """{trial id: spec} of every analysis of a plan."""
    return {tid: spec for _, specs in plan.values() for tid, spec in specs.items()}
