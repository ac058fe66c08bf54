"""Every data source read into one standard form, :class:`~candle_lib.data.ingest.CountData`:

- ``counts``: integer read counts (sources ``synthetic`` and ``counts``) or float32 normalized
  values (``candle``, ``matrix``), samples x features;
- ``samples``: ``sample_id``, ``label``, ``group`` (when the data has groups) and ``split_hint``
  (``test`` for the rows of a given test file), in matrix row order;
- ``genes``: ``gene_id`` and, where known, ``length`` and ``gene_type`` (or, for the tox21
  compounds, ``block``: descriptors, similarities or ecfp4), in matrix column order.

Later steps rely only on these column names, whatever the source called them.
"""

from __future__ import annotations

import pandas as pd

from candle_lib.data.candle_files import read_candle_p1b, read_candle_xy
from candle_lib.data.config_checks import is_tox21
from candle_lib.data.ingest import CountData, ingest, ingest_matrix, read_table
from candle_lib.data.labels import check_labels
from candle_lib.errors import CandleInputError


def _standard_samples(sheet: pd.DataFrame, names: dict) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "sample_id": sheet[names["id_column"]].astype(str).to_numpy(),
            "label": sheet[names["label_column"]].astype(str).to_numpy(),
        }
    )
    if names.get("group_column"):
        out["group"] = sheet[names["group_column"]].astype(str).to_numpy()
    if names.get("logo_column"):
        if names["logo_column"] not in sheet.columns:
            raise CandleInputError(
                f"config key 'data.splits.logo_column': the sample sheet has no column '{names['logo_column']}'"
            )
        out["logo_group"] = sheet[names["logo_column"]].to_numpy()
    return out


def _read_counts_source(inputs: dict, data: dict, names: dict, classes) -> CountData:
    common = dict(
        id_column=names["id_column"],
        label_column=names["label_column"],
        group_column=names.get("group_column"),
        declared_classes=classes,
    )
    read = ingest(
        inputs["counts"],
        inputs["genes"],
        inputs["samples"],
        orientation=data["files"].get("orientation", "genes_by_samples"),
        **common,
    )
    return CountData(read.counts, _standard_samples(read.samples, names), read.genes)


def _read_matrix_source(inputs: dict, data: dict, names: dict, classes) -> CountData:
    common = dict(
        id_column=names["id_column"],
        label_column=names["label_column"],
        group_column=names.get("group_column"),
        declared_classes=classes,
    )
    values, sheet, features = ingest_matrix(
        inputs["matrix"], inputs["samples"], orientation=data["files"].get("orientation", "samples_by_genes"), **common
    )
    return CountData(values, _standard_samples(sheet, names), features.rename(columns={"feature_id": "gene_id"}))


def _read_candle_source(inputs: dict, data: dict, names: dict, classes) -> CountData:
    if data["files"].get("layout", "nt3") == "nt3":
        values, samples, features = read_candle_xy(inputs["train"], inputs["test"])
    else:
        values, samples, features = read_candle_p1b(inputs["train"], inputs.get("test"))
    if classes is not None:
        check_labels(samples["label"], classes, inputs["train"], sample_ids=samples["sample_id"])
    return CountData(values, samples.reset_index(drop=True), features.rename(columns={"feature_id": "gene_id"}))


def _read_tox21_source(inputs: dict, data: dict, names: dict, classes) -> CountData:
    """The generated compounds (files :data:`candle_lib.data.synthetic_tox21.RAW_FILES`): float32
    values of all three blocks; each feature's block rides along in the ``block`` column."""
    values, sheet, features = ingest_matrix(
        inputs["matrix"],
        inputs["compounds"],
        orientation="samples_by_features",
        id_column="compound_id",
        label_column="label",
        group_column="scaffold",
        declared_classes=classes,
    )
    blocks = read_table(inputs["features"]).astype({"feature_id": str}).set_index("feature_id")["block"]
    unknown = sorted(set(features["feature_id"]) - set(blocks.index))
    if unknown:
        raise CandleInputError(f"feature '{unknown[0]}' of the matrix has no block", source=inputs["features"])
    genes = pd.DataFrame(
        {"gene_id": features["feature_id"].to_numpy(), "block": blocks.loc[features["feature_id"]].to_numpy()}
    )
    names = {
        "id_column": "compound_id",
        "label_column": "label",
        "group_column": "scaffold",
        "logo_column": names.get("logo_column"),
    }
    return CountData(values, _standard_samples(sheet, names), genes)


def ingest_options(data: dict) -> dict:
    """The part of the data config that ingestion reads (so that changing a filter or the
    split seed does not re-ingest)."""
    return {
        "source": data["source"],
        "files": data.get("files", {}),
        "sample_sheet": data.get("sample_sheet", {}),
        "labels": {"classes": data["labels"].get("classes")},
        "splits": {"logo_column": data["splits"].get("logo_column")},
        **({"synthetic": {"variant": "tox21"}} if is_tox21(data) else {}),
    }


READERS = {
    "synthetic": _read_counts_source,
    "counts": _read_counts_source,
    "matrix": _read_matrix_source,
    "candle": _read_candle_source,
}


def read_source(data: dict, inputs: dict) -> CountData:
    """Read and validate the inputs of ``data['source']`` (paths in ``inputs``, keyed as in
    ``data.files``); raises CandleInputError naming the file and row/column at fault."""
    names = {**data.get("sample_sheet", {}), "logo_column": data["splits"].get("logo_column")}
    if is_tox21(data):
        return _read_tox21_source(inputs, data, names, data["labels"].get("classes"))
    if data["source"] == "synthetic":
        names.update(id_column="sample_id", label_column="label", group_column="patient_id")
    return READERS[data["source"]](inputs, data, names, data["labels"].get("classes"))
