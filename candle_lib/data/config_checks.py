"""Checks of the ``data`` section that a JSON schema cannot express: which files each source
needs, which generator keys fit which synthetic variant, that only read counts get read-count
normalizations and only compound feature blocks (tox21) the block normalizations and
``data.features``. Each failure names the config key."""

from __future__ import annotations

import inspect
from pathlib import Path

from candle_lib.data.block_normalize import BLOCK_NORMALIZATIONS
from candle_lib.data.synthetic import (
    synthetic_drug_response,
    synthetic_nt3_cohort,
    synthetic_tc1_cohort,
)
from candle_lib.data.synthetic_tox21 import FEATURE_BLOCKS, synthetic_tox21
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import task_kind

GENERATORS = {
    "nt3": synthetic_nt3_cohort,
    "tc1": synthetic_tc1_cohort,
    "drug_response": synthetic_drug_response,
    "tox21": synthetic_tox21,
}
REQUIRED_FILES = {
    "synthetic": (),
    "counts": ("counts", "genes", "samples"),
    "matrix": ("matrix", "samples"),
    "candle": ("train",),
    "drug_response": ("responses", "cell_features", "drug_features"),
}
SOURCE_FILES = {**REQUIRED_FILES, "candle": ("train", "test")}  # test is optional for p1b
SOURCES_WITH_COUNTS = ("synthetic", "counts")


def generator_arguments(synthetic: dict) -> tuple[str, dict]:
    """The variant and the keyword arguments of its generator; a key the variant does not take
    is an error naming it."""
    options = dict(synthetic)
    variant = options.pop("variant", "nt3")
    accepted = inspect.signature(GENERATORS[variant]).parameters
    for key in options:
        if key not in accepted:
            raise CandleInputError(f"config key 'data.synthetic.{key}': does not apply to variant '{variant}'")
    return variant, options


def is_drug_response(data: dict) -> bool:
    """Responses joined to cell-line and drug features (given, or generated)."""
    return data["source"] == "drug_response" or (
        data["source"] == "synthetic" and data.get("synthetic", {}).get("variant") == "drug_response"
    )


def is_tox21(data: dict) -> bool:
    """Compounds with feature blocks (descriptors, similarities, ecfp4): the tox21 generator."""
    return data["source"] == "synthetic" and (data.get("synthetic") or {}).get("variant") == "tox21"


def check_preparation(data: dict) -> None:
    """``data.features``, ``data.normalization`` and ``data.transform`` against the source: also
    run on each prepared variant of a search, whose data settings the schema never saw."""
    features, normalization = data.get("features"), data["normalization"]
    if not is_tox21(data):
        if features is not None:
            raise CandleInputError(
                f"config key 'data.features': '{features}' selects a feature block, but only the tox21 "
                f"compounds (data.synthetic.variant: tox21) have blocks {list(FEATURE_BLOCKS)}; remove it"
            )
        if normalization in BLOCK_NORMALIZATIONS:
            raise CandleInputError(
                f"config key 'data.normalization': '{normalization}' normalizes compound feature blocks "
                f"(data.synthetic.variant: tox21 only); use fpkm, fpkm_uq, tpm, cpm or none here"
            )
        return
    if features is not None and features not in FEATURE_BLOCKS:
        raise CandleInputError(f"config key 'data.features': '{features}' is not one of {list(FEATURE_BLOCKS)}")
    if normalization not in (*BLOCK_NORMALIZATIONS, "none"):
        raise CandleInputError(
            f"config key 'data.normalization': '{normalization}' needs read counts; tox21 compounds take "
            f"{list(BLOCK_NORMALIZATIONS)} or none"
        )
    if data["transform"] != "none":
        raise CandleInputError(
            "config key 'data.transform': tox21 features are not counts (descriptors can be negative); set it to none"
        )


def width_bound(data: dict) -> tuple[int, str] | None:
    """An upper bound on the number of features a prepared dataset of ``data`` has, known
    without reading the data, and the key it comes from; None where none is cheaply known. The
    bound is exact when top_variance is set (fewer features left is an error of the data step)."""
    bounds = []
    filters = data.get("filters") or {}
    if filters.get("top_variance"):
        bounds.append((int(filters["top_variance"]), f"data.filters.top_variance: {filters['top_variance']}"))
    gene_list = filters.get("gene_list")
    if gene_list and Path(gene_list).is_file():
        from candle_lib.data.features import read_gene_list

        try:
            n_ids = len(read_gene_list(gene_list))
            bounds.append((n_ids, f"the {n_ids} ids of data.filters.gene_list"))
        except CandleInputError:
            pass  # reported by the data step, with its line
    if data["source"] == "synthetic" and not is_drug_response(data) and not is_tox21(data):
        variant, options = generator_arguments(data.get("synthetic") or {})
        n_genes = options.get("n_genes", inspect.signature(GENERATORS[variant]).parameters["n_genes"].default)
        bounds.append((int(n_genes), f"data.synthetic.n_genes: {n_genes}"))
    return min(bounds) if bounds else None


def check_model_for_data(data: dict, params: dict) -> None:
    if is_drug_response(data) and task_kind(params) != "regression":
        raise CandleInputError(
            "config key 'model.task': drug-response data need task: regression and model: dense (or a model of your own)"
        )


def check_data_config(data: dict) -> None:
    source = data["source"]
    files = data.get("files", {})
    for key in REQUIRED_FILES[source]:
        if not files.get(key):
            raise CandleInputError(f"config key 'data.files.{key}': required when data.source is '{source}'")
    if source == "candle" and files.get("layout", "nt3") == "nt3" and not files.get("test"):
        raise CandleInputError(
            "config key 'data.files.test': CANDLE's nt3 layout comes as a train and a test file; give both"
        )
    check_preparation(data)
    if (source not in SOURCES_WITH_COUNTS or is_drug_response(data)) and data["normalization"] != "none":
        raise CandleInputError(
            f"config key 'data.normalization': '{data['normalization']}' needs read counts, but this "
            f"source holds values that are already normalized; set it to none"
        )
    if source == "synthetic":
        generator_arguments(data.get("synthetic", {}))
