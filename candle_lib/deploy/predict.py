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

Input in the wrong form is refused before the model runs: with ``counts``, values that are not
non-negative integers (a normalized matrix given as counts gets the reason and the format to
use); with ``matrix``, samples whose values lie on another scale than the training's
(:func:`check_input_scale`: raw counts where log2 values were expected, values transformed
twice), and a warning for a borderline scale difference.

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
    _numeric_values,
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
NOT_COUNTS_SHARE = 0.01  # this share of the values fractional or negative: the input is not read counts
# The scale check (check_input_scale) measures, for each input sample, how far its median and its
# 95th percentile (model inputs after the transform, before the scaler) lie outside the range of
# the training samples' medians and 95th percentiles, in units of the spread of the training
# values (their interquartile range; q99 - q01 for a mostly-zero matrix whose IQR is 0). 0: the
# sample looks like a training sample. On the synthetic NT3 cohort, FPKM-UQ values scaled by 2
# reach at most 0.23, by 4 0.24-0.45, by 16 0.69-0.90 (log2 data: a constant shift); log2
# values log-transformed a second time 3.5; raw read counts where log2(FPKM-UQ+1) values were
# expected over 10^4. Past SCALE_WARN (a several-fold scale difference: another pipeline, a
# batch effect; predictions may be biased) a warning; past SCALE_REFUSE (a sample's typical
# value more than the training's whole interquartile range beyond any training sample's: other
# units or another transform) the input is refused.
SCALE_WARN = 0.25
SCALE_REFUSE = 1.0


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
        try:
            counts = validate_counts(part, source)  # (block normalizations read values: matrix)
        except CandleInputError:
            check_counts_form(record, part, source)  # many such values: a normalized matrix, said so
            raise
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


def _expected_matrix(record: dict) -> str:
    """What format ``matrix`` expects of this bundle's input, in words."""
    if record["block_normalization"] is not None:
        return f"raw feature values, which the bundle normalizes ({record['normalization']}, training mean and sd)"
    if record["normalization"] == "none":
        expected = "values as the training's data source held them"
    else:
        expected = f"values normalized as {record['normalization']}"
    if record["transform"] != "none":
        expected += f", not yet {record['transform']}-transformed (the bundle transforms them)"
    return expected


def _model_space(record: dict) -> str:
    """Where the scale check looks at the values, in words (empty: as given)."""
    if record["block_normalization"] is not None:
        return f" after the {record['normalization']} block normalization"
    return "" if record["transform"] == "none" else f" after the {record['transform']} transform"


def check_counts_form(record: dict, part: pd.DataFrame, source: str) -> None:
    """Read counts are non-negative integers: when a share of the values (at least
    :data:`NOT_COUNTS_SHARE`) is fractional or negative, the input is a normalized matrix given
    as counts; refuse it with the format to use. (A few such values: ``validate_counts`` names
    the first.)"""
    values = _numeric_values(part)
    finite = np.isfinite(values)
    wrong = finite & ((values < 0) | (values != np.round(values)))
    n_wrong = int(wrong.sum())
    if n_wrong == 0 or n_wrong < NOT_COUNTS_SHARE * finite.sum():
        return
    r, c = (int(i[0]) for i in np.nonzero(wrong))
    raise CandleInputError(
        f"these are not read counts: {n_wrong} of the {int(finite.sum())} values the model reads are fractional or "
        f"negative (e.g. {values[r, c]:g} for sample '{part.index[r]}', gene '{part.columns[c]}'), as in a normalized "
        f"matrix; format counts needs non-negative integer read counts. For normalized values give infer.format "
        f"matrix, which expects {_expected_matrix(record)}",
        source=source,
        where="infer.format counts",
    )


def _scale_unit(pooled: dict) -> tuple[float, str]:
    """The spread of the training values and its name: their interquartile range, or where
    that is 0 (a mostly-zero matrix) q99 - q01, or max - min."""
    for low, high, name in (
        ("0.25", "0.75", "interquartile range"),
        ("0.01", "0.99", "1st-99th percentile range"),
        ("0.0", "1.0", "range"),
    ):
        spread = pooled[high] - pooled[low]
        if spread > 0:
            return spread, name
    return 1.0, "spread (constant values: 1)"


def check_input_scale(record: dict, x: np.ndarray, sample_ids, source: str, log=print) -> np.ndarray:
    """Refuse (or warn about) input samples whose values are on another scale than the training's.

    ``x``: the model's inputs before the scaler (:func:`model_inputs`). For each sample, the
    distance of its median and 95th percentile from the range the training samples' covered
    (the bundle's ``value_range``), in units of the training values' spread (see
    :data:`SCALE_WARN` and :data:`SCALE_REFUSE` for the thresholds and why). Returns the
    distances (zeros where the bundle records no value range: exported before it did)."""
    recorded = record.get("value_range")
    if recorded is None:
        log(
            f"{source}: the bundle records no training value range (exported by an older version): input scale not checked"
        )
        return np.zeros(len(x))
    if x.shape[1] == 0 or len(x) == 0:
        return np.zeros(len(x))
    unit, unit_name = _scale_unit(recorded["pooled"])
    values = np.asarray(x, dtype=np.float64)
    stats = {p: np.quantile(values, float(p), axis=1) for p in recorded["per_sample"]}
    distance = np.zeros(len(x))
    for p, (low, high) in recorded["per_sample"].items():
        distance = np.maximum(distance, (np.maximum(low - stats[p], 0) + np.maximum(stats[p] - high, 0)) / unit)
    ids = list(map(str, sample_ids))
    for limit, refuse in ((SCALE_REFUSE, True), (SCALE_WARN, False)):
        off = np.flatnonzero(distance > limit)
        if off.size == 0:
            continue
        worst = int(off[np.argmax(distance[off])])
        training = ", ".join(
            f"{_percentile_name(p)}s {low:.4g}..{high:.4g}" for p, (low, high) in recorded["per_sample"].items()
        )
        found = ", ".join(f"{_percentile_name(p)} {stats[p][worst]:.4g}" for p in recorded["per_sample"])
        what = "are not on the scale of the training data" if refuse else "lie outside the training data's range"
        message = (
            f"{off.size} of the {len(x)} samples ({_ids(ids[k] for k in off)}) {what}: sample '{ids[worst]}' has "
            f"{found}{_model_space(record)}, where the training samples had {training}; that is "
            f"{distance[worst]:.3g} times the training values' {unit_name} ({unit:.4g}) outside their range "
            f"(refused past {SCALE_REFUSE}, a warning past {SCALE_WARN}). Format matrix expects {_expected_matrix(record)}"
        )
        if record["ingested"] == "counts":
            message += "; raw read counts go with infer.format counts"
        else:
            message += "; the model was trained on normalized values, so read counts cannot be used"
        if refuse:
            raise CandleInputError(message, source=source, where="infer.format matrix")
        log(f"WARNING: {source}: {message}; predictions for these samples may be biased")
        break
    return distance


def _percentile_name(p: str) -> str:
    return "median" if float(p) == 0.5 else f"{float(p) * 100:g}th percentile"


def _block_normalized(block: dict, values: np.ndarray) -> np.ndarray:
    """The tox21 block normalization with the training statistics (as normalize_block)."""
    z = (np.asarray(values, dtype=np.float64) - np.asarray(block["mean"])) / np.asarray(block["sd"])
    return squash(block["method"], z).astype(np.float32)


def load_bundle_model(bundle_dir, record: dict) -> TrialModel:
    """The bundle's model, loaded in Keras' safe mode (no arbitrary code from the file: a model
    with a Lambda layer is refused), with its scaler, as a predictor. A model of the user's has
    its builder's module (found from the workflow's directory) imported first: it registers the
    model's custom layers."""
    import keras

    from candle_lib.models.plugin import import_plugin

    path = Path(bundle_dir) / "model.keras"
    import_plugin(record["params"])
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
            if fmt == "matrix":
                check_input_scale(record, inputs[key], table.index, str(input_path), log)
        outputs.append(member_outputs(record, load_bundle_model(bundle, record), inputs[key]))
        log(f"{bundle}: predicted with trial {record['trial']['id']}")
    return predictions_table(table.index, records, outputs)
