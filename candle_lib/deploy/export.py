"""The production bundle of a trained model: ``model.keras`` beside ``preprocessing.json``, which
holds every piece of fitted preprocessing the model's inputs went through, so that new samples
get exactly the same (:mod:`candle_lib.deploy.predict` applies it). Imports no TensorFlow.

``preprocessing.json``:

- ``format``: :data:`BUNDLE_FORMAT`; ``trial``: the trial id, role kind and prepared dataset
  the model came from; ``model_sha256``: the checksum of the bundle's ``model.keras``;
- ``source``: the configured data source; ``ingested``: ``counts`` when the preparation read
  integer read counts, ``values`` when it read an already-normalized matrix;
- ``normalization`` (fpkm, fpkm_uq, tpm, cpm, none, or a tox21 block normalization) and
  ``transform`` (log2p1, none), as in :func:`candle_lib.data.prepared.prepare_matrix`;
- ``genes``: for the per-sample normalizations (fpkm, fpkm_uq, tpm, cpm), every gene they read,
  in the preparation's column order: ``ids``, ``lengths`` (bp; null when unknown) and
  ``protein_coding`` (null: every gene counts, as in :mod:`candle_lib.data.normalize`); else null;
- ``features``: the feature ids the filters kept, in the model's input order;
- ``block_normalization``: tox21 only, the ``method`` and each feature's training ``mean``/``sd``;
- ``scaler``: the trial's fitted scaler (its ``scaler.json``); ``params``: its hyperparameters;
- ``labels``: ``task`` (classification or regression), ``classes`` (sorted; class code =
  position) and ``encoding`` (one_hot, binary, hamming2, hamming3, ordinal);
- ``value_range``: what the model's inputs looked like, in the prepared matrix's space (after
  normalization and transform, before the scaler), for :func:`candle_lib.deploy.predict.check_input_scale`:
  ``pooled``, quantiles of every value (probability -> value) and ``per_sample``, the lowest and
  highest per-sample median and 95th percentile (:func:`value_range`). Bundles exported before
  it was recorded lack it; they load, and their input's scale is not checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import atomic_path, write_json
from candle_lib.data.block_normalize import BLOCK_NORMALIZATIONS
from candle_lib.data.prepared import load_prepared, select_block, sha256_file
from candle_lib.errors import CandleInputError
from candle_lib.params.specs import COMMAND_MODELS, model_form, task_kind
from candle_lib.trial.spec import trial_id

BUNDLE_FORMAT = "candle-production/1"
BUNDLE_FILES = ("model.keras", "preprocessing.json")
PER_SAMPLE_NORMALIZATIONS = ("fpkm", "fpkm_uq", "tpm", "cpm")  # statistics over every gene of a sample
POOLED_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
SAMPLE_QUANTILES = (0.5, 0.95)  # per-sample statistics whose range over the prepared samples is recorded
POOLED_SAMPLE = 2_000_000  # values the pooled quantiles are computed from at most (an even stride)


def _task(params: dict) -> str:
    if model_form(params["model"]) in COMMAND_MODELS:
        raise CandleInputError(
            f"model {params['model']} runs out of process and saves no Keras model; production inference serves "
            "built-in models and Keras builders of your own",
            where="params.model",
        )
    if params["model"] == "p1b1":
        raise CandleInputError(
            "a p1b1 autoencoder predicts no label or target; production inference serves classifiers and regressors",
            where="params.model",
        )
    return task_kind(params)


def normalization_genes(ingested_genes: pd.DataFrame, preparation: dict) -> dict | None:
    """The genes a per-sample normalization reads (the ingested genes of the feature block, in
    order), with their lengths and protein-coding flags; None for the other normalizations."""
    if preparation["normalization"] not in PER_SAMPLE_NORMALIZATIONS:
        return None
    _, genes = select_block(np.zeros((0, len(ingested_genes))), ingested_genes, preparation.get("features"))
    return {
        "ids": genes["gene_id"].astype(str).tolist(),
        "lengths": genes["length"].astype(float).tolist() if "length" in genes.columns else None,
        "protein_coding": (genes["gene_type"] == "protein_coding").tolist() if "gene_type" in genes.columns else None,
    }


def _quantiles(sorted_values: np.ndarray, probabilities) -> np.ndarray:
    """Quantiles along the last axis of sorted values, interpolated linearly as ``np.quantile``
    does by default (sorting once is several times faster than its partitions here)."""
    n = sorted_values.shape[-1]
    out = []
    for p in probabilities:
        position = p * (n - 1)
        low = int(np.floor(position))
        high = min(low + 1, n - 1)
        a, b = sorted_values[..., low].astype(np.float64), sorted_values[..., high].astype(np.float64)
        out.append(a + (position - low) * (b - a))
    return np.stack(out)


def value_range(matrix: np.ndarray, block_rows: int = 128) -> dict:
    """The ``value_range`` of a bundle: quantiles of the prepared matrix's values (every sample),
    and the range over its samples of each sample's median and 95th percentile. Reads the
    matrix in blocks of rows. The pooled minimum and maximum are exact; the other pooled
    quantiles come from at most :data:`POOLED_SAMPLE` values, every k-th (a 1,400 x 60,483
    matrix: one value in 43)."""
    n_rows = matrix.shape[0]
    per_sample = np.empty((len(SAMPLE_QUANTILES), n_rows))
    stride = max(1, -(-int(np.prod(matrix.shape)) // POOLED_SAMPLE))
    low, high = np.inf, -np.inf
    for start in range(0, n_rows, block_rows):
        block = np.sort(np.asarray(matrix[start : start + block_rows], dtype=np.float32), axis=1)
        per_sample[:, start : start + len(block)] = _quantiles(block, SAMPLE_QUANTILES)
        low, high = min(low, float(block[:, 0].min())), max(high, float(block[:, -1].max()))
    flat = np.asarray(matrix, dtype=np.float32).reshape(-1)[::stride]
    pooled = _quantiles(np.sort(flat), POOLED_QUANTILES)
    pooled[0], pooled[-1] = low, high
    return {
        "pooled": {str(p): float(v) for p, v in zip(POOLED_QUANTILES, pooled)},
        "per_sample": {str(p): [float(row.min()), float(row.max())] for p, row in zip(SAMPLE_QUANTILES, per_sample)},
    }


def preprocessing_record(trial_dir, prepared_dir, ingested_genes: pd.DataFrame, *, source: str, ingested: str) -> dict:
    """The preprocessing.json of a finished trial (see the module docstring)."""
    trial_dir = Path(trial_dir)
    spec = json.loads((trial_dir / "params.json").read_text())
    data = load_prepared(prepared_dir)
    preparation = data.manifest["preparation"]
    if "train_mean" in data.features.columns:
        block = {
            "method": preparation["normalization"],
            "mean": data.features["train_mean"].tolist(),
            "sd": data.features["train_sd"].tolist(),
        }
    else:
        block = None
    return {
        "format": BUNDLE_FORMAT,
        "trial": {
            "id": trial_id(spec),
            "role": spec["role"]["kind"],
            "prepared": data.manifest.get("prep_id", Path(prepared_dir).name),
        },
        "source": source,
        "ingested": ingested,
        "normalization": preparation["normalization"],
        "transform": preparation["transform"],
        "genes": normalization_genes(ingested_genes, preparation),
        "features": data.features["feature_id"].astype(str).tolist(),
        "block_normalization": block,
        "scaler": json.loads((trial_dir / "scaler.json").read_text()),
        "params": spec["params"],
        "labels": {
            "task": _task(spec["params"]),
            "classes": list(data.classes),
            "encoding": preparation["labels"].get("encoding", "one_hot"),
        },
        "value_range": value_range(data.matrix),
    }


def export_bundle(trial_dir, prepared_dir, ingested_genes_path, out_dir, *, source: str, ingested: str) -> dict:
    """Write ``out_dir/model.keras`` (the trial's saved model) and ``out_dir/preprocessing.json``.

    ``ingested``: ``counts`` or ``values``, what the preparation read (:func:`ingested_kind`).
    Raises :class:`CandleInputError` when the trial failed or saved no model."""
    trial_dir, out_dir = Path(trial_dir), Path(out_dir)
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    if metrics["status"] != "ok":
        raise CandleInputError(
            f"the trial failed ({metrics['failure_reason']}); it has no model to deploy", source=str(trial_dir)
        )
    model = trial_dir / "model.keras"
    if not model.is_file():
        raise CandleInputError(
            "the trial saved no model.keras (its role needs save_model: true)", source=str(trial_dir)
        )
    if ingested not in ("counts", "values"):
        raise ValueError(f"ingested must be 'counts' or 'values', not {ingested!r}")
    record = preprocessing_record(
        trial_dir, prepared_dir, pd.read_parquet(ingested_genes_path), source=source, ingested=ingested
    )
    with atomic_path(out_dir / "model.keras") as tmp:
        shutil.copyfile(model, tmp)
    record["model_sha256"] = sha256_file(out_dir / "model.keras")
    write_json(out_dir / "preprocessing.json", record)
    return record


def ingested_kind(ingested_values_path) -> str:
    """``counts`` when the ingested matrix holds integer read counts, else ``values``."""
    return "counts" if np.load(ingested_values_path, mmap_mode="r").dtype.kind in "iu" else "values"


def read_bundle(bundle_dir) -> dict:
    """The preprocessing record of a bundle, checked against its model file."""
    bundle_dir = Path(bundle_dir)
    for name in BUNDLE_FILES:
        if not (bundle_dir / name).is_file():
            raise CandleInputError(f"not a production bundle: {name} is missing", source=str(bundle_dir))
    record = json.loads((bundle_dir / "preprocessing.json").read_text())
    if record.get("format") != BUNDLE_FORMAT:
        raise CandleInputError(
            f"preprocessing.json has format {record.get('format')!r}; this version reads {BUNDLE_FORMAT!r}",
            source=str(bundle_dir),
        )
    if sha256_file(bundle_dir / "model.keras") != record["model_sha256"]:
        raise CandleInputError(
            "model.keras is not the model this preprocessing.json was written for (sha256 differs)",
            source=str(bundle_dir),
        )
    if record["normalization"] in BLOCK_NORMALIZATIONS and record["block_normalization"] is None:
        raise CandleInputError(
            f"normalization {record['normalization']} but no fitted block statistics", source=str(bundle_dir)
        )
    return record
