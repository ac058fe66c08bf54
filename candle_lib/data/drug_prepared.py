"""A prepared drug-response dataset: the two feature matrices and the joined responses as
index columns into them; the wide (responses x features) matrix is never written.

Layout of the directory:
- ``cell_features.npy`` / ``drug_features.npy``  float32, memory-mappable
- ``responses.parquet``  sample_id (response id), cell_line, drug, cell_row, drug_row, dose,
  target, split, fold: one row per response that has both feature rows
- ``features.parquet``   block (cell/drug/dose) and feature_id of each model input column
- ``manifest.json``      kind ``drug_response``, shapes, dtype, the join report (dropped
  responses), content checksums

Opening (:func:`load_drug_prepared`) checks the files against the manifest as
:func:`candle_lib.data.prepared.load_prepared` does: both ``.npy`` headers and sizes, the
response and feature counts and the join indices on every open, the checksums once per file
version.
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
from candle_lib.data.prepared import check_npy, damaged, read_manifest, sha256_file, verify_checksums
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
    # imported here, not at module level: split_methods imports scikit-learn (1.5 s, ~60 MiB),
    # and a trial imports this module only to read a prepared dataset, never to split one
    from candle_lib.data.split_methods import assign_splits

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
        "dtype": "float32",
        "checksums": {name: sha256_file(out / name) for name in DRUG_FILES[:4]},
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
    """Open a prepared drug-response dataset, checked against its manifest (see the module
    docstring). Datasets prepared before the manifest recorded checksums are checked for
    everything else."""
    d = Path(directory)
    for name in DRUG_FILES:
        if not (d / name).exists():
            raise CandleInputError(f"prepared drug-response dataset is incomplete: {name} is missing", source=str(d))
    manifest = read_manifest(d)
    for key in ("cell_shape", "drug_shape", "n_responses"):
        if key not in manifest:
            raise damaged(d, "manifest.json", f"records no {key}")
    cell_shape, drug_shape = manifest["cell_shape"], manifest["drug_shape"]
    check_npy(d, "cell_features.npy", cell_shape, manifest.get("dtype", "float32"))
    check_npy(d, "drug_features.npy", drug_shape, manifest.get("dtype", "float32"))
    responses, features = pd.read_parquet(d / "responses.parquet"), pd.read_parquet(d / "features.parquet")
    if len(responses) != manifest["n_responses"]:
        raise damaged(
            d, "responses.parquet", f"has {len(responses)} rows, but manifest.json records {manifest['n_responses']}"
        )
    width = cell_shape[1] + drug_shape[1] + 1
    if len(features) != width:
        raise damaged(
            d,
            "features.parquet",
            f"has {len(features)} rows, but the model reads {width} columns "
            f"({cell_shape[1]} cell features + {drug_shape[1]} drug features + dose)",
        )
    for block, shape in (("cell", cell_shape), ("drug", drug_shape)):
        index = responses[f"{block}_row"].to_numpy()
        if len(index) and (index.min() < 0 or index.max() >= shape[0]):
            raise damaged(
                d,
                "responses.parquet",
                f"column {block}_row points to rows {int(index.min())}..{int(index.max())}, "
                f"but {block}_features.npy has {shape[0]} rows",
            )
    verify_checksums(d, manifest.get("checksums", {}))
    return DrugPrepared(
        np.load(d / "cell_features.npy", mmap_mode="r"),
        np.load(d / "drug_features.npy", mmap_mode="r"),
        responses,
        manifest,
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
