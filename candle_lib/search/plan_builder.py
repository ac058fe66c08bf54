"""The planner: adds points to a plan, binding names, resolving hyperparameters, merging data
settings into prepared-data variants and hashing content-addressed trial ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from candle_lib.params.declared import config_specs
from candle_lib.search.bindings import SpaceBinding
from candle_lib.search.data_variants import prep_id, with_data_settings
from candle_lib.search.space import parse_space
from candle_lib.search.trial_ids import TrialIdHasher
from candle_lib.search.value_cache import content_key
from candle_lib.trial.spec import HOLDOUT, trial_spec


@dataclass
class SearchPlan:
    trials: dict[str, dict] = field(default_factory=dict)  # trial id -> spec, in search order
    points: dict[str, dict] = field(default_factory=dict)  # trial id -> its point of the space
    variants: dict[str, dict] = field(default_factory=dict)  # prep id -> data config of that variant
    labels: dict[str, object] = field(default_factory=dict)  # trial id -> UPF id (method upf)


class Planner:
    """Adds points to a plan: binds names, resolves params, merges data settings, hashes."""

    def __init__(self, config: dict, dimensions=(), *, where: str = "hpo.space"):
        specs = config_specs(config)
        self.base_params = specs.resolve(config["model"], where="model")
        self.base_data = config["data"]
        self.binding = SpaceBinding(tuple(dimensions), self.base_data, where=where, specs=specs)
        # list-valued hyperparameters: each spec owns its lists
        self.list_params = [name for name, spec in specs.by_name.items() if spec.type.endswith("_list")]
        self.hasher = TrialIdHasher(self.base_params, HOLDOUT)
        self.plan = SearchPlan()
        self._prep_ids: dict[str, str] = {}

    def data_id(self, data_settings: dict) -> str:
        key = tuple(sorted((name, content_key(value)) for name, value in data_settings.items()))
        found = self._prep_ids.get(key)
        if found is None:
            merged = with_data_settings(self.base_data, data_settings)
            found = self._prep_ids[key] = prep_id(merged)
            self.plan.variants.setdefault(found, merged)
        return found

    def add(self, point: Mapping, *, label=None) -> str:
        overrides, data_settings = self.binding.overrides(point)
        data = self.data_id(data_settings)
        trial = self.hasher(overrides, data)
        if trial not in self.plan.trials:
            params = {**self.base_params, **overrides}
            for name in self.list_params:
                if name in params:
                    params[name] = list(params[name])
            self.plan.trials[trial] = trial_spec(params, role=HOLDOUT, data=data)
            self.plan.points[trial] = dict(point)
            if label is not None:
                self.plan.labels[trial] = label
        return trial


def space_of(hpo: dict):
    """The parsed dimensions of ``hpo.space`` (none where it is absent)."""
    return parse_space(hpo.get("space") or {})


def plan_points(config: dict, points: Sequence[Mapping], *, where: str = "hpo.space") -> SearchPlan:
    """The plan of explicit points (e.g. read from a UPF file); a point's ``id`` is its label.
    Names are bound with the dimensions of ``hpo.space`` where it has them."""
    planner = Planner(config, space_of(config["hpo"]), where=where)
    for point in points:
        label = point.get("id")
        planner.add({k: v for k, v in point.items() if k != "id"}, label=label)
    return planner.plan
