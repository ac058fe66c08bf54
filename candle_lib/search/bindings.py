"""What a point of the search space sets: hyperparameters and data-preparation options.

A dimension's name says what it sets:

- a hyperparameter of :mod:`candle_lib.params.specs` (``learning_rate``): that hyperparameter;
- ``data.<option>`` (``data.normalization``, ``data.filters.min_nonzero_samples``): that option of
  the data config, so that each distinct combination is one prepared variant;
- any other name whose values are all mappings, a *bundle*: each value sets several
  hyperparameters and/or ``data.`` options together, e.g.
  ``regularization: [{dropout: 0.0, input_dropout: 0.0}, {dropout: 0.5, input_dropout: 0.2}]``;
- any other name with plain values that another dimension's ``when`` refers to, a *switch*
  (``dropout_on: [false, true]``): it sets nothing itself.

Anything else is an unknown hyperparameter, reported with its ``hpo.space`` key. Values are
coerced and checked by :func:`candle_lib.params.specs.resolve_params`, once per distinct value.
"""

from __future__ import annotations

from collections.abc import Mapping

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import BUILTIN_SPECS, ParamSpecs
from candle_lib.search.data_variants import DATA_PREFIX, data_path
from candle_lib.search.space import Dimension
from candle_lib.search.value_cache import ValueCache

PARAM, DATA, BUNDLE, SWITCH = "param", "data", "bundle", "switch"


class SpaceBinding:
    """Maps points to (hyperparameter overrides, data settings), checking every name."""

    def __init__(
        self,
        dimensions: tuple[Dimension, ...],
        base_data: dict,
        *,
        where: str = "hpo.space",
        specs: ParamSpecs = BUILTIN_SPECS,
    ):
        self.specs = specs
        self.base_data = base_data
        self.where = where
        self.dimensions = {d.name: d for d in dimensions}
        conditioned = {other for d in dimensions for other, _ in d.when}
        self.kinds = {d.name: self._classify(d.name, d.values or (), switch=d.name in conditioned) for d in dimensions}
        self._entry = ValueCache(self._resolve_entry)
        self._check_overlaps()

    def _classify(self, name: str, values: tuple, *, switch: bool) -> str:
        at = f"{self.where}.{name}"
        if name in self.specs:
            return PARAM
        if name.startswith(DATA_PREFIX):
            data_path(name, self.base_data, at)
            return DATA
        if values and all(isinstance(v, Mapping) for v in values):
            for value in values:
                self._check_bundle(name, value)
            return BUNDLE
        if switch and values and not any(isinstance(v, Mapping) for v in values):
            return SWITCH
        unknown = self.specs.unknown(at)
        raise CandleInputError(
            f"{unknown.args[0]}. A dimension of another name is a "
            "data-preparation option (data.<option>), a bundle (every value a mapping of hyperparameters), "
            "or a switch with listed values that a later dimension's 'when' refers to"
        )

    def _check_bundle(self, name: str, bundle: Mapping) -> None:
        for key in bundle:
            at = f"{self.where}.{name}.{key}"
            if isinstance(key, str) and key.startswith(DATA_PREFIX):
                data_path(key, self.base_data, at)
            elif key not in self.specs:
                raise self.specs.unknown(at, "hyperparameter in a bundle")

    def _check_overlaps(self) -> None:
        setter: dict[str, str] = {}
        for name, kind in self.kinds.items():
            if kind == BUNDLE:
                keys = {key for bundle in self.dimensions[name].values for key in bundle}
            else:
                keys = {name} if kind in (PARAM, DATA) else set()
            for key in sorted(keys):
                if key in setter:
                    raise CandleInputError(
                        f"sets '{key}', which dimension '{setter[key]}' sets too", where=f"{self.where}.{name}"
                    )
                setter[key] = name

    def kind(self, name: str, value) -> str:
        """The kind of a point entry; names outside the space (imported points) by their value."""
        return self.kinds.get(name) or self._classify(name, (value,), switch=False)

    def _resolve_entry(self, name: str, value) -> tuple[dict, dict]:
        kind = self.kind(name, value)
        flat = dict(value) if kind == BUNDLE else {} if kind == SWITCH else {name: value}
        params = {k: v for k, v in flat.items() if not k.startswith(DATA_PREFIX)}
        data = {k: v for k, v in flat.items() if k.startswith(DATA_PREFIX)}
        resolved = self.specs.resolve(params, where=f"{self.where}.{name}" if kind == BUNDLE else self.where)
        return {k: resolved[k] for k in params}, data

    def overrides(self, point: Mapping) -> tuple[dict, dict]:
        """(coerced hyperparameter overrides, ``data.`` settings) of a point. The returned
        dicts are new; their values may be shared with other points (copy before mutating)."""
        params: dict = {}
        data: dict = {}
        for name, value in point.items():
            entry_params, entry_data = self._entry(name, value)
            params.update(entry_params)
            data.update(entry_data)
        return params, data

    def varied_keys(self) -> list[str]:
        """The hyperparameters and ``data.`` options that the space sets, in space order."""
        keys: dict[str, None] = {}
        for name, kind in self.kinds.items():
            if kind == BUNDLE:
                keys.update((key, None) for bundle in self.dimensions[name].values for key in bundle)
            elif kind in (PARAM, DATA):
                keys[name] = None
        return list(keys)
