"""Production inference: new samples through exactly the preprocessing of a saved model
(:mod:`candle_lib.deploy.export`), then the model (loaded in Keras' safe mode).

New samples come as a table (TSV/CSV, optionally gzipped, or Parquet) with one id column and
their own gene order, in either orientation:

- ``counts``: integer read counts. The bundle's normalization (FPKM, FPKM-UQ, TPM, CPM) is
  computed over exactly the genes it read in training, in training order (extra input genes are
  ignored; a missing one is an error), then the transform, then the kept features, then the
  trial's scaler;
- ``matrix``: values already normalized the way the bundle's normalization says (e.g. GDC's
  FPKM-UQ files for an fpkm_uq model; the source's own values for a model trained on a matrix):
  only the kept features are read; the transform (or, for tox21 blocks, the block
  normalization with the training mean and sd), then the scaler, are applied.

An ensemble is several bundles: their class probabilities are averaged, and the uncertainty is
written beside them (:func:`ensemble_uncertainty`). Imports Keras only to load the models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from candle_lib.data.block_normalize import squash
from candle_lib.data.features import _unversioned
from candle_lib.data.ingest import (
    _text_header,
    read_count_matrix,
    validate_counts,
    validate_matrix,
)
from candle_lib.data.normalize import normalize_to_float32
from candle_lib.deploy.export import read_bundle
from candle_lib.errors import CandleInputError
from candle_lib.trial.saved_model import TrialModel
from candle_lib.trial.scaling import scaler_from_json
from candle_lib.trial.tasks import ClassificationTask, task_for
from candle_lib.uq.classification import entropy, mutual_information

FORMATS = ("counts", "matrix")
ORIENTATIONS = ("auto", "genes_by_samples", "samples_by_genes")
SHOWN_IDS = 5  # ids named in an error message
WRONG_SET_SHARE = 0.5  # fewer than this share of the needed genes present: not the model's gene set


def needed_genes(record: dict, fmt: str) -> list[str]:
    """The input genes a bundle reads: for counts under a per-sample normalization every gene
    the normalization read in training; otherwise the kept features."""
    if fmt not in FORMATS:
        raise CandleInputError(f"unknown input format '{fmt}'; choose one of {list(FORMATS)}", where="infer.format")
    if fmt == "counts" and record["ingested"] != "counts":
        raise CandleInputError(
            f"the model was trained on normalized values (data source {record['source']}), not read counts: give format matrix",
            where="infer.format",
        )
    if fmt == "counts" and record["genes"] is not None:
        return record["genes"]["ids"]
    return record["features"]


def input_orientation(path, genes: list[str]) -> str:
    """``samples_by_genes`` when the header names any of ``genes``, else ``genes_by_samples``."""
    if str(path).endswith(".parquet"):
        header = pq.read_schema(path).names
    else:
        header = _text_header(path) if Path(path).is_file() else None
        if header is None:
            raise CandleInputError("file not found", source=str(path))
    wanted = set(genes)
    return "samples_by_genes" if any(cell in wanted for cell in header[1:]) else "genes_by_samples"


def read_new_samples(path, genes: list[str], orientation: str = "auto") -> pd.DataFrame:
    """The input table as samples x genes (index: sample ids), validated for ids and shape."""
    if orientation not in ORIENTATIONS:
        raise CandleInputError(
            f"unknown orientation '{orientation}'; choose one of {list(ORIENTATIONS)}", where="infer.orientation"
        )
    if orientation == "auto":
        orientation = input_orientation(path, genes)
    return read_count_matrix(path, orientation=orientation)


def _ids(ids) -> str:
    ids = list(ids)
    return ", ".join(ids[:SHOWN_IDS]) + (", ..." if len(ids) > SHOWN_IDS else "")


def check_gene_set(input_genes, needed: list[str], source: str, why: str) -> None:
    """Every needed gene must be an input gene. Fewer than :data:`WRONG_SET_SHARE` of them
    present: the input is on another gene set (other ids, another annotation); otherwise the
    missing ones are named (their number and the first few). ``why`` says what needs them."""
    present = set(map(str, input_genes))
    missing = [g for g in needed if g not in present]
    if not missing:
        return
    hint = ""
    unversioned = {_unversioned(g) for g in present}
    rescued = sum(_unversioned(g) in unversioned for g in missing)
    if rescued:
        hint = f"; {rescued} of the missing genes match once Ensembl version suffixes (.N) are dropped: annotate with the training's gene versions"
    found = len(needed) - len(missing)
    if found < WRONG_SET_SHARE * len(needed):
        raise CandleInputError(
            f"wrong gene set: only {found} of the {len(needed)} genes the model needs ({why}) are in the input; "
            f"the input's gene ids look like {_ids(sorted(present))}, the model's like {_ids(needed)}{hint}",
            source=source,
        )
    raise CandleInputError(
        f"{len(missing)} of the {len(needed)} genes the model needs ({why}) are missing from the input: {_ids(missing)}{hint}",
        source=source,
    )


def _why(record: dict, fmt: str) -> str:
    if fmt == "counts" and record["genes"] is not None:
        return f"{record['normalization']} reads every gene of the training"
    return "the model's input features"


def model_inputs(record: dict, table: pd.DataFrame, fmt: str, source: str = "input") -> np.ndarray:
    """The rows of ``table`` (samples x genes) as the prepared matrix's float32 features, by the
    bundle's preprocessing (before the scaler, which the model's predictor applies)."""
    needed = needed_genes(record, fmt)
    check_gene_set(table.columns, needed, source, _why(record, fmt))
    part = table.loc[:, needed]
    ids = table.index.to_numpy()
    block = record["block_normalization"]
    if fmt == "counts":
        counts = validate_counts(part, source)  # (block normalizations read values: matrix)
        genes = record["genes"]
        if genes is None:  # none: per value; the filters' columns are the needed ones
            return normalize_to_float32(record["normalization"], record["transform"], counts, None, None, ids)
        values = normalize_to_float32(
            record["normalization"], record["transform"], counts, genes["lengths"], genes["protein_coding"], ids
        )
        position = {gene: k for k, gene in enumerate(genes["ids"])}
        return np.ascontiguousarray(values[:, [position[f] for f in record["features"]]])
    values = validate_matrix(part, source)
    if block is not None:
        return _block_normalized(block, values)
    return normalize_to_float32("none", record["transform"], values, None)


def _block_normalized(block: dict, values: np.ndarray) -> np.ndarray:
    """The tox21 block normalization with the training statistics (as normalize_block)."""
    z = (np.asarray(values, dtype=np.float64) - np.asarray(block["mean"])) / np.asarray(block["sd"])
    return squash(block["method"], z).astype(np.float32)


def load_bundle_model(bundle_dir, record: dict) -> TrialModel:
    """The bundle's model, loaded in Keras' safe mode (no arbitrary code from the file: a model
    with a Lambda layer is refused), with its scaler, as a predictor."""
    import keras

    path = Path(bundle_dir) / "model.keras"
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" not in str(exc):
            raise
        raise CandleInputError(f"Keras' safe mode refused to load the model: {exc}", source=str(path)) from None
    return TrialModel(model, scaler_from_json(json.dumps(record["scaler"])), record["params"])


def ensemble_uncertainty(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Uncertainty of an ensemble's class probabilities, shape (members, samples, classes), in
    nats (:mod:`candle_lib.uq.classification`): ``predictive_entropy`` H(mean_m p_m) (total),
    ``expected_entropy`` mean_m H(p_m) (aleatoric), ``mutual_information`` their difference
    (epistemic: the members' disagreement), and ``sd``, the members' population standard
    deviation (ddof 0) of each class probability."""
    p = np.asarray(probabilities, dtype=np.float64)
    return {
        "predictive_entropy": entropy(p.mean(axis=0)),
        "expected_entropy": entropy(p).mean(axis=0),
        "mutual_information": mutual_information(p),
        "sd": p.std(axis=0),
    }


def member_outputs(record: dict, predictor: TrialModel, x: np.ndarray) -> pd.DataFrame:
    """One member's numbers per sample: ``prob_<class>`` (classification, decoded from the
    label encoding) or the regression task's columns (``prediction``, and ``variance`` or
    ``q_<level>`` for a Gaussian or quantile head)."""
    outputs = predictor.predict(x)
    labels = record["labels"]
    if labels["task"] == "classification":
        probabilities = ClassificationTask(labels["classes"], labels["encoding"]).class_probabilities(outputs)
        return pd.DataFrame(probabilities, columns=[f"prob_{name}" for name in labels["classes"]])
    rows = pd.DataFrame({"sample_id": np.arange(len(x)), "split": "new", "target": np.nan})
    frame = task_for(record["params"], [], "one_hot", x.shape[1]).predictions(rows, None, outputs)
    return frame.drop(columns=["sample_id", "split", "target"])


def predictions_table(sample_ids, records: list[dict], members: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per sample: ``sample_id``, then ``pred_label`` and ``prob_<class>`` (or the
    regression columns), averaged over the members; for several members also their
    uncertainty: :func:`ensemble_uncertainty` with ``sd_<class>``, or for regression ``sd``, the
    members' population standard deviation of ``prediction``."""
    stacked = np.stack([member.to_numpy(dtype=np.float64) for member in members])
    mean = pd.DataFrame(stacked.mean(axis=0), columns=members[0].columns)
    frame = pd.DataFrame({"sample_id": list(sample_ids)})
    if records[0]["labels"]["task"] == "regression":
        frame = pd.concat([frame, mean], axis=1)
        if len(members) > 1:
            frame["sd"] = stacked[:, :, list(members[0].columns).index("prediction")].std(axis=0)
        return frame
    classes = records[0]["labels"]["classes"]
    frame["pred_label"] = [classes[c] for c in mean.to_numpy().argmax(axis=1)]
    frame = pd.concat([frame, mean], axis=1)
    if len(members) > 1:
        spread = ensemble_uncertainty(stacked)
        for key in ("predictive_entropy", "expected_entropy", "mutual_information"):
            frame[key] = spread[key]
        for k, name in enumerate(classes):
            frame[f"sd_{name}"] = spread["sd"][:, k]
    return frame


def _check_members_agree(records: list[dict], bundles) -> None:
    first = records[0]["labels"]
    for record, bundle in zip(records[1:], bundles[1:]):
        if record["labels"]["task"] != first["task"] or record["labels"].get("classes") != first.get("classes"):
            raise CandleInputError(
                f"the ensemble's members predict different things ({first} vs {record['labels']})", source=str(bundle)
            )


def predict_samples(bundles, input_path, *, fmt: str = "counts", orientation: str = "auto", log=print) -> pd.DataFrame:
    """Predictions for the samples of ``input_path`` by one bundle, or the average of several
    (an ensemble, with its uncertainty); see :func:`predictions_table`."""
    bundles = [Path(b) for b in bundles]
    if not bundles:
        raise CandleInputError("no model to predict with", where="infer.models")
    records = [read_bundle(b) for b in bundles]
    _check_members_agree(records, bundles)
    table = read_new_samples(input_path, needed_genes(records[0], fmt), orientation)
    extra = len(set(table.columns) - {g for r in records for g in needed_genes(r, fmt)})
    log(f"{input_path}: {table.shape[0]} samples x {table.shape[1]} genes ({extra} not used by the model)")
    inputs: dict[str, np.ndarray] = {}
    outputs = []
    for bundle, record in zip(bundles, records):
        key = json.dumps(
            [record[k] for k in ("normalization", "transform", "genes", "features", "block_normalization")]
        )
        if key not in inputs:
            inputs[key] = model_inputs(record, table, fmt, str(input_path))
        outputs.append(member_outputs(record, load_bundle_model(bundle, record), inputs[key]))
        log(f"{bundle}: predicted with trial {record['trial']['id']}")
    return predictions_table(table.index, records, outputs)
