"""Fast content-addressed trial ids for large plans.

:func:`candle_lib.trial.spec.trial_id` hashes the canonical JSON of a whole spec. Across a plan,
every spec shares the same role and most hyperparameter values, so this hasher encodes each
(name, value) once and joins the cached pieces: the same text, hence the same id, in a few
microseconds per trial.
"""

from __future__ import annotations

import hashlib
import json

from candle_lib.params.model_code import model_code
from candle_lib.params.specs import canonical_json
from candle_lib.search.value_cache import ValueCache


def _piece(name: str, value) -> str:
    return f"{json.dumps(name)}:{canonical_json(value)}"


class TrialIdHasher:
    """``trial_id(trial_spec(base | overrides, role=role, data=data))``, from cached pieces."""

    def __init__(self, base_params: dict, role: dict):
        self._base_params = base_params
        self._names = sorted(base_params)
        self._base_keys = frozenset(base_params)
        self._base = {name: _piece(name, value) for name, value in base_params.items()}
        self._role = canonical_json(role)
        self._override = ValueCache(_piece)
        self._codes: dict[str, str] = {}

    def __call__(self, overrides: dict, data: str) -> str:
        pieces = (
            self._base if not overrides else {**self._base, **{k: self._override(k, v) for k, v in overrides.items()}}
        )
        names = self._names if self._base_keys.issuperset(overrides) else sorted(pieces)
        params = ",".join(pieces[name] for name in names)
        code = self._code({k: overrides[k] for k in CODE_KEYS if k in overrides})
        text = f'{{{code}"data":{json.dumps(data)},"params":{{{params}}},"role":{self._role}}}'
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def _code(self, code_overrides: dict) -> str:
        key = canonical_json(code_overrides)
        if key not in self._codes:
            self._codes[key] = _code_piece(model_code({**self._base_params, **code_overrides}))
        return self._codes[key]


# the hyperparameters that decide which files a model's code is in (candle_lib.params.model_code)
CODE_KEYS = ("model", "command", "benchmark", "benchmark_params")


def _code_piece(code: dict | None) -> str:
    return f'"code":{canonical_json(code)},' if code else ""
