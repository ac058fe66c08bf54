"""The prepared dataset: written once, read by every trial by memory-mapping.

Layout of a prepared directory (DESIGN.md section 3):
- ``matrix.npy``       float32 samples x features, loads with ``np.load(mmap_mode="r")``
- ``samples.parquet``  sample_id, label, label_code, group, split, fold (matrix row order)
- ``features.parquet`` feature_id (and gene_type, length where known; for tox21 block,
                       train_mean, train_sd of a block normalization), matrix column order
- ``manifest.json``    shapes, dtype, the preparation used, classes, content checksums

Opening a dataset (:func:`load_prepared`) checks it against its manifest before any trial
trains on it: the ``.npy`` header's shape and dtype, the file size the header implies (a
truncated matrix), the row count against ``samples.parquet`` and the width against
``features.parquet`` on every open (a few stat and header reads); the content checksums once
per file version, recorded in ``.verified.json`` beside the manifest (:func:`verify_checksums`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from candle_lib.atomic import write_json, write_npy, write_table
from candle_lib.data.block_normalize import BLOCK_NORMALIZATIONS, normalize_block
from candle_lib.data.features import read_gene_list, select_features
from candle_lib.data.ingest import CountData
from candle_lib.data.labels import encode_ordinal, fit_classes
from candle_lib.data.normalize import normalize_to_float32
from candle_lib.errors import CandleInputError

PREPARED_FILES = ("matrix.npy", "samples.parquet", "features.parquet", "manifest.json")
VERIFIED_STAMP = ".verified.json"  # checksums already verified, by file version (verify_checksums)
PREPARATION_KEYS = ("normalization", "transform", "filters", "labels")
OPTIONAL_PREPARATION_KEYS = ("features",)  # only where set, so that other configs keep their params


def preparation_options(data_config: dict) -> dict:
    """The part of the data config that shapes a prepared variant (recorded in its manifest)."""
    options = {key: data_config[key] for key in PREPARATION_KEYS}
    options.update({key: data_config[key] for key in OPTIONAL_PREPARATION_KEYS if data_config.get(key) is not None})
    return options


def select_block(values: np.ndarray, features: pd.DataFrame, block: str | None) -> tuple[np.ndarray, pd.DataFrame]:
    """The columns of one feature block (``data.features``; None: all columns). ``features``
    must then have a ``block`` column (the tox21 compounds do)."""
    if block is None:
        return values, features
    if "block" not in features.columns:
        raise CandleInputError(
            f"config key 'data.features': '{block}' selects a feature block, but this source's features have no blocks"
        )
    columns = np.flatnonzero((features["block"] == block).to_numpy())
    if columns.size == 0:
        raise CandleInputError(
            f"config key 'data.features': no feature of block '{block}'; blocks present: {sorted(set(features['block']))}"
        )
    return np.asarray(values)[:, columns], features.iloc[columns].reset_index(drop=True)


@dataclass(frozen=True)
class PreparedDataset:
    matrix: np.ndarray  # memory-mapped float32, samples x features
    samples: pd.DataFrame
    features: pd.DataFrame
    manifest: dict

    @property
    def classes(self) -> list[str]:
        return self.manifest["classes"]

    def rows(self, split: str | tuple[str, ...]) -> np.ndarray:
        """Row indices of the samples in the given split(s)."""
        wanted = (split,) if isinstance(split, str) else split
        return np.flatnonzero(self.samples["split"].isin(wanted).to_numpy())


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_matrix(
    data: CountData,
    splits: pd.DataFrame,
    options: dict,
    *,
    id_column: str,
    label_column: str,
    group_column: str | None,
    gene_list=None,
):
    """Select the feature block, normalize, transform, filter and encode; returns (matrix,
    samples, features, summary).

    ``gene_list`` is the path of the ``filters.gene_list`` file (None: no gene-list filter).
    Read-count normalizations other than none need ``data.genes['length']``. A feature-block
    normalization (:data:`~candle_lib.data.block_normalize.BLOCK_NORMALIZATIONS`) runs after the
    filters, which then see the raw values, with mean and sd fitted on the rows of split train
    (recorded as ``train_mean``/``train_sd`` in the features table).
    """
    splits = splits.set_index("sample_id")
    ids = data.samples[id_column].astype(str)
    missing = sorted(set(ids) - set(splits.index))
    if missing:
        raise CandleInputError(f"{len(missing)} sample(s) have no split assignment, e.g. {missing[:3]}")
    split = splits.loc[ids.to_numpy()]
    counts, genes = select_block(data.counts, data.genes, options.get("features"))
    by_block = options["normalization"] in BLOCK_NORMALIZATIONS
    if by_block:
        values = np.asarray(counts, dtype=np.float32)
    else:
        gene_type = genes["gene_type"] if "gene_type" in genes.columns else None
        protein_coding = None if gene_type is None else (gene_type == "protein_coding").to_numpy()
        lengths = genes["length"].to_numpy() if "length" in genes.columns else None
        values = normalize_to_float32(
            options["normalization"], options["transform"], counts, lengths, protein_coding, ids.to_numpy()
        )
    filters = options.get("filters", {})
    train_rows = (split["split"] == "train").to_numpy()
    keep = select_features(
        values,
        train_rows,
        min_nonzero_samples=filters.get("min_nonzero_samples", 0),
        top_variance=filters.get("top_variance"),
        gene_list=None if gene_list is None else read_gene_list(gene_list),
        feature_ids=genes["gene_id"].astype(str).to_numpy(),
        source=None if gene_list is None else str(gene_list),
        ignore_version=filters.get("ignore_version", False),
    )
    classes = fit_classes(data.samples[label_column])
    samples = pd.DataFrame(
        {
            "sample_id": ids.to_numpy(),
            "label": data.samples[label_column].astype(str).to_numpy(),
            "label_code": encode_ordinal(data.samples[label_column], classes),
            "group": (data.samples[group_column].astype(str) if group_column else ids).to_numpy(),
            "split": split["split"].to_numpy(),
            "fold": split["fold"].to_numpy(),
        }
    )
    # the split table's optional columns (subsample_f*_r*, bootstrap_*, logo_group) ride along:
    # trial roles select rows by them
    for column in split.columns.drop(["split", "fold"]):
        samples[column] = split[column].to_numpy()
    features = genes.iloc[keep].rename(columns={"gene_id": "feature_id"}).reset_index(drop=True)
    matrix = np.ascontiguousarray(values[:, keep], dtype=np.float32)
    if by_block:
        matrix, fitted = normalize_block(options["normalization"], matrix, train_rows)
        features["train_mean"], features["train_sd"] = fitted["mean"], fitted["sd"]
    summary = {
        "classes": classes,
        "n_genes_in": int(values.shape[1]),
        "n_features": int(keep.size),
        "label_counts": samples["label"].value_counts().sort_index().to_dict(),
        "split_counts": samples["split"].value_counts().sort_index().to_dict(),
    }
    return matrix, samples, features, summary


def write_prepared(out_dir, matrix, samples, features, manifest_extra: dict) -> dict:
    out = Path(out_dir)
    write_npy(out / "matrix.npy", matrix)
    write_table(out / "samples.parquet", samples)
    write_table(out / "features.parquet", features)
    manifest = {
        "shape": list(matrix.shape),
        "dtype": str(matrix.dtype),
        "checksums": {name: sha256_file(out / name) for name in PREPARED_FILES[:3]},
        **manifest_extra,
    }
    write_json(out / "manifest.json", manifest)
    return manifest


def damaged(directory, name: str, what: str) -> CandleInputError:
    """The error for a prepared file that does not match its manifest: names the file, what
    differs, and what to do."""
    return CandleInputError(
        f"{what}; the prepared dataset is damaged or does not match its manifest: delete {directory} and re-run "
        "the workflow (or `snakemake --forcerun prepare_dataset`) to prepare it again",
        source=str(Path(directory) / name),
    )


def read_manifest(directory) -> dict:
    d = Path(directory)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise damaged(d, "manifest.json", f"not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise damaged(d, "manifest.json", f"holds a {type(manifest).__name__}, not an object")
    return manifest


def _shape_text(shape) -> str:
    return " x ".join(str(n) for n in shape)


def check_npy(directory, name: str, shape, dtype: str | None) -> None:
    """The ``.npy`` file's header against the ``shape`` (and ``dtype``) its manifest records,
    and the file's size against what its header implies (a truncated or padded matrix). Reads
    the header only."""
    path = Path(directory) / name
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                found_shape, fortran, found_dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                found_shape, fortran, found_dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"format version {version[0]}.{version[1]} (np.save writes 1.0 or 2.0)")
        except (ValueError, EOFError, SyntaxError) as exc:
            raise damaged(directory, name, f"not a readable .npy file ({exc})") from None
        offset = handle.tell()
    if list(found_shape) != list(shape):
        differs = ""
        if len(found_shape) == len(shape) == 2:
            parts = [
                f"{found} {what}, expected {wanted}"
                for found, wanted, what in zip(found_shape, shape, ("rows", "columns"))
                if found != wanted
            ]
            differs = f" ({'; '.join(parts)})"
        raise damaged(
            directory,
            name,
            f"holds a {_shape_text(found_shape)} matrix, but manifest.json records {_shape_text(shape)}{differs}",
        )
    if dtype is not None and str(found_dtype) != dtype:
        raise damaged(directory, name, f"holds {found_dtype} values, but manifest.json records {dtype}")
    if fortran:
        raise damaged(directory, name, "is in Fortran (column-major) order; prepared matrices are row-major")
    needed = offset + int(np.prod(found_shape, dtype=np.int64)) * found_dtype.itemsize
    size = path.stat().st_size
    if size < needed:
        raise damaged(
            directory,
            name,
            f"truncated: the file has {size} bytes, its {_shape_text(found_shape)} {found_dtype} matrix needs {needed}",
        )
    if size > needed:
        raise damaged(
            directory,
            name,
            f"{size - needed} bytes after the end of its {_shape_text(found_shape)} {found_dtype} matrix "
            f"(the file has {size} bytes, the matrix needs {needed})",
        )


def check_rows(directory, name: str, found: int, expected: int, what: str) -> None:
    if found != expected:
        raise damaged(directory, name, f"has {found} rows, but the matrix has {expected} {what}")


def _file_version(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _read_stamp(directory: Path) -> dict:
    try:
        stamp = json.loads((directory / VERIFIED_STAMP).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    files = stamp.get("files") if isinstance(stamp, dict) else None
    return files if isinstance(files, dict) else {}


def _write_stamp(directory: Path, files: dict) -> None:
    """Atomically, best effort: a read-only or full file system only means hashing again on
    the next open. The temporary name is unique across the processes and nodes that may open
    the same dataset at once."""
    tmp = directory / f".{VERIFIED_STAMP}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        tmp.write_text(json.dumps({"files": files}, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, directory / VERIFIED_STAMP)
    except OSError:
        tmp.unlink(missing_ok=True)


def verify_checksums(directory, checksums: dict[str, str]) -> list[str]:
    """Check each file's sha256 against ``checksums`` (name -> hex digest, from the manifest);
    returns the names it hashed.

    A file is hashed only when this version of it has not been verified yet: ``.verified.json``
    in ``directory`` records, for each file verified, its size, modification time (ns) and
    inode with the digest it matched. A file rewritten in place (new mtime), replaced (new
    inode) or re-prepared (a manifest with another digest) is hashed again; a matrix of a few
    hundred MB costs ~0.5 s to hash, once, rather than in every trial."""
    d = Path(directory)
    stamp = _read_stamp(d)
    verified, hashed = {}, []
    for name, expected in checksums.items():
        version = {**_file_version(d / name), "sha256": expected}
        if stamp.get(name) != version:
            found = sha256_file(d / name)
            hashed.append(name)
            if found != expected:
                raise damaged(
                    d,
                    name,
                    f"content differs from the checksum in manifest.json (sha256 {found[:16]}..., expected "
                    f"{expected[:16]}...): the file changed or was corrupted after it was prepared",
                )
        verified[name] = version
    if verified != stamp:
        _write_stamp(d, verified)
    return hashed


def load_prepared(directory, *, mmap: bool = True) -> PreparedDataset:
    """Open a prepared dataset, checked against its manifest (see the module docstring): any
    mismatch raises :class:`CandleInputError` naming the file, what differs, and what to do."""
    d = Path(directory)
    for name in PREPARED_FILES:
        if not (d / name).exists():
            raise CandleInputError(f"prepared dataset is incomplete: {name} is missing", source=str(d))
    manifest = read_manifest(d)
    if "shape" not in manifest:
        raise damaged(d, "manifest.json", "records no matrix shape")
    shape = manifest["shape"]
    check_npy(d, "matrix.npy", shape, manifest.get("dtype"))
    samples, features = pd.read_parquet(d / "samples.parquet"), pd.read_parquet(d / "features.parquet")
    check_rows(d, "samples.parquet", len(samples), shape[0], "rows (samples)")
    check_rows(d, "features.parquet", len(features), shape[1], "columns (features)")
    verify_checksums(d, manifest.get("checksums", {}))
    matrix = np.load(d / "matrix.npy", mmap_mode="r" if mmap else None)
    return PreparedDataset(matrix, samples, features, manifest)
