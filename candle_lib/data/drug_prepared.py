"""A prepared drug-response dataset: the two feature matrices and the joined responses as
index columns into them; the wide (responses x features) matrix is never written.

Layout of the directory:
- ``cell_features.npy`` / ``drug_features.npy``  float32, memory-mappable
- ``responses.parquet``  sample_id (response id), cell_line, drug, cell_row, drug_row, dose,
  target, split, fold: one row per response that has both feature rows
- ``features.parquet``   block (cell/drug/dose) and feature_id of each model input column
- ``manifest.json``      kind ``drug_response``, shapes, the join report (dropped responses)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json, write_npy, write_table
from candle_lib.data.drug_tables import (
    FeatureTable,
    join_indices,
    read_cell_features,
    read_drug_features,
    read_responses,
)
from candle_lib.data.split_methods import assign_splits
from candle_lib.errors import CandleInputError

DRUG_FILES = ("cell_features.npy", "drug_features.npy", "responses.parquet", "features.parquet", "manifest.json")


@dataclass(frozen=True)
class DrugPrepared:
    cell: np.ndarray  # memory-mapped float32 cell lines x cell features
    drug: np.ndarray  # memory-mapped float32 drugs x drug features
    samples: pd.DataFrame  # the responses table (one "sample" per response)
    manifest: dict
    classes: tuple = ()

    @property
    def n_features(self) -> int:
        return self.cell.shape[1] + self.drug.shape[1] + 1

    def rows(self, split: str | tuple[str, ...]) -> np.ndarray:
        wanted = (split,) if isinstance(split, str) else split
        return np.flatnonzero(self.samples["split"].isin(wanted).to_numpy())


def prepare_drug_response(
    out_dir, cell: FeatureTable, drug: FeatureTable, responses: pd.DataFrame, *, target: str, splits: dict
) -> dict:
    """Join, split (train/val/test and folds, grouped by cell line when ``splits['group']`` is
    ``cell_line``) and write; returns the manifest."""
    join = join_indices(responses, cell.ids, drug.ids)
    kept = join.responses
    if len(kept) == 0:
        raise CandleInputError("no response has both cell-line and drug features", where=json.dumps(join.report))
    ids = [f"r{i}" for i in join.response_rows]
    group = splits.get("group")
    table = assign_splits(
        ids,
        np.zeros(len(kept), dtype=int),
        kept[group].astype(str) if group else None,
        **{k: splits[k] for k in ("test_fraction", "val_fraction", "n_folds", "seed") if k in splits},
    )
    frame = pd.DataFrame(
        {
            "sample_id": ids,
            "cell_line": kept["cell_line"].astype(str).to_numpy(),
            "drug": kept["drug"].astype(str).to_numpy(),
            "cell_row": join.cell_index.astype(np.int64),
            "drug_row": join.drug_index.astype(np.int64),
            "dose": kept["dose"].to_numpy(dtype=np.float32)
            if "dose" in kept.columns
            else np.zeros(len(kept), np.float32),
            "target": kept[target].to_numpy(dtype=np.float64),
            "split": table["split"].to_numpy(),
            "fold": table["fold"].to_numpy(),
        }
    )
    features = pd.DataFrame(
        {
            "block": ["cell"] * len(cell.columns) + ["drug"] * len(drug.columns) + ["dose"],
            "feature_id": [*map(str, cell.columns), *map(str, drug.columns), "dose"],
        }
    )
    out = Path(out_dir)
    write_npy(out / "cell_features.npy", np.ascontiguousarray(cell.matrix, dtype=np.float32))
    write_npy(out / "drug_features.npy", np.ascontiguousarray(drug.matrix, dtype=np.float32))
    write_table(out / "responses.parquet", frame)
    write_table(out / "features.parquet", features)
    manifest = {
        "kind": "drug_response",
        "target": target,
        "cell_shape": list(cell.matrix.shape),
        "drug_shape": list(drug.matrix.shape),
        "n_responses": len(frame),
        "join": join.report,
        "split_counts": frame["split"].value_counts().sort_index().to_dict(),
        "classes": [],
    }
    write_json(out / "manifest.json", manifest)
    return manifest


def is_drug_prepared(directory) -> bool:
    return (Path(directory) / "responses.parquet").exists()


def load_drug_prepared(directory) -> DrugPrepared:
    d = Path(directory)
    for name in DRUG_FILES:
        if not (d / name).exists():
            raise CandleInputError(f"prepared drug-response dataset is incomplete: {name} is missing", source=str(d))
    return DrugPrepared(
        np.load(d / "cell_features.npy", mmap_mode="r"),
        np.load(d / "drug_features.npy", mmap_mode="r"),
        pd.read_parquet(d / "responses.parquet"),
        json.loads((d / "manifest.json").read_text()),
    )


def prepare_drug_response_files(out_dir, paths: dict, columns: dict, splits: dict) -> dict:
    """Read the three tables (``paths``: responses, cell_features, drug_features; ``columns``:
    the ``data.drug_response`` config), validate them, and write the prepared set."""
    cell_column, drug_column, dose_column = columns["cell_column"], columns["drug_column"], columns.get("dose_column")
    cell = read_cell_features(paths["cell_features"], id_column=cell_column)
    drug = read_drug_features(paths["drug_features"], id_column=drug_column)
    responses = read_responses(
        paths["responses"],
        cell_column=cell_column,
        drug_column=drug_column,
        dose_column=dose_column,
        target_column=columns["target"],
    )
    standard = responses.rename(
        columns={cell_column: "cell_line", drug_column: "drug", **({dose_column: "dose"} if dose_column else {})}
    )
    group = {"cell_line": "cell_line", "drug": "drug", None: None}[columns.get("group")]
    return prepare_drug_response(
        out_dir, cell, drug, standard, target=columns["target"], splits={**splits, "group": group}
    )
