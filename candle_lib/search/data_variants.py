"""Data-preparation variants: ``data.`` dimensions of a search, merged into the data config,
and the content-addressed id of each prepared variant."""

from __future__ import annotations

import copy
import hashlib

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import canonical_json

DATA_PREFIX = "data."
# Options that shape a prepared dataset and so enter its id; the optional ones only when set,
# so that configs without them keep their ids.
PREP_KEYS = ("normalization", "transform", "filters", "labels")
OPTIONAL_PREP_KEYS = ("features",)
SEARCHABLE_DATA_KEYS = PREP_KEYS + OPTIONAL_PREP_KEYS


def prep_id(data_config: dict) -> str:
    """Id of a prepared-dataset variant: a hash of the preparation options only (not of the
    input files, whose changes Snakemake tracks itself)."""
    options = {key: data_config[key] for key in PREP_KEYS}
    options.update({key: data_config[key] for key in OPTIONAL_PREP_KEYS if data_config.get(key) is not None})
    return "prep-" + hashlib.sha256(canonical_json(options).encode()).hexdigest()[:8]


def data_path(key: str, base_data: dict, where: str) -> tuple[str, ...]:
    """The path inside the data config of a ``data.`` search key, checked against the base."""
    parts = tuple(key[len(DATA_PREFIX) :].split("."))
    if parts[0] not in SEARCHABLE_DATA_KEYS or not all(parts):
        raise CandleInputError(
            f"'{key}' is not a data-preparation option; searchable: "
            f"{[DATA_PREFIX + k for k in SEARCHABLE_DATA_KEYS]} and their sub-keys (e.g. data.filters.top_variance)",
            where=where,
        )
    node = base_data
    for depth, part in enumerate(parts[:-1]):
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise CandleInputError(
                f"data.{'.'.join(parts[: depth + 1])} is not a section of the data config", where=where
            )
    return parts


def with_data_settings(base_data: dict, settings: dict[str, object]) -> dict:
    """A copy of the data config with each ``data.a.b: value`` setting applied."""
    merged = copy.deepcopy(base_data)
    for key, value in settings.items():
        parts = key[len(DATA_PREFIX) :].split(".")
        node = merged
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = copy.deepcopy(value)
    return merged
