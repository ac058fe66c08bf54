"""Fast content-addressed trial ids for large plans.

:func:`candle_lib.trial.spec.trial_id` hashes the canonical JSON of a whole spec. Across a plan,
every spec shares the same role and most hyperparameter values, so this hasher encodes each
(name, value) once and joins the cached pieces: the same text, hence the same id, in a few
microseconds per trial.
"""

from __future__ import annotations

import hashlib
import json

from candle_lib.params.specs import canonical_json
from candle_lib.search.value_cache import ValueCache


def _piece(name: str, value) -> str:
    return f"{json.dumps(name)}:{canonical_json(value)}"


class TrialIdHasher:
    """``trial_id(trial_spec(base | overrides, role=role, data=data))``, from cached pieces."""

    def __init__(self, base_params: dict, role: dict):
        self._names = sorted(base_params)
        self._base = {name: _piece(name, value) for name, value in base_params.items()}
        self._role = canonical_json(role)
        self._override = ValueCache(_piece)

    def __call__(self, overrides: dict, data: str) -> str:
        pieces = (
            self._base if not overrides else {**self._base, **{k: self._override(k, v) for k, v in overrides.items()}}
        )
        params = ",".join(pieces[name] for name in self._names)
        text = f'{{"data":{json.dumps(data)},"params":{{{params}}},"role":{self._role}}}'
        return hashlib.sha256(text.encode()).hexdigest()[:12]
