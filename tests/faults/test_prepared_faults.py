"""A corrupt or mismatched prepared dataset is refused when it is opened, before any training:
a truncated matrix, a valid .npy of another width, a flipped byte, tables of another length.
Each gives one error naming the file, what differs (expected vs found) and what to do; the
content checksums are verified once per file version (the stamp .verified.json), the cheap
checks on every open."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, make_prepared

import candle_lib.data.prepared as prepared_module
from candle_lib.data.drug_prepared import load_drug_prepared, prepare_drug_response
from candle_lib.data.drug_tables import FeatureTable
from candle_lib.data.prepared import VERIFIED_STAMP, load_prepared
from candle_lib.data.synthetic import synthetic_drug_response
from candle_lib.errors import CandleInputError

HEADER = 128  # np.save's header of a 2-D float32 array (format 1.0)
ROWS, WIDTH = 60, 100  # make_prepared: 60 samples of 40 patients, the 100 most variable of 200 genes
ALL = ["features.parquet", "matrix.npy", "samples.parquet"]  # the manifest's order (sorted)
REMEDY = (
    "the prepared dataset is damaged or does not match its manifest: delete {d} and re-run the workflow "
    "(or `snakemake --forcerun prepare_dataset`) to prepare it again"
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("pristine") / "prep-00000000")


@pytest.fixture
def dataset(pristine, tmp_path):
    """A fresh copy of the prepared dataset, to damage."""
    copy = tmp_path / "prep-00000000"
    shutil.copytree(pristine, copy)
    return copy


def error_of(directory, name: str, what: str) -> str:
    return f"{directory / name}: {what}; " + REMEDY.format(d=directory)


def count_hashes(monkeypatch) -> list[str]:
    """The files sha256_file hashes from now on, in order."""
    hashed = []
    real = prepared_module.sha256_file

    def counting(path):
        hashed.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(prepared_module, "sha256_file", counting)
    return hashed


def test_the_pristine_dataset_opens(dataset):
    data = load_prepared(dataset)
    assert data.matrix.shape == (ROWS, WIDTH)
    assert (dataset / "matrix.npy").stat().st_size == HEADER + ROWS * WIDTH * 4


def test_a_truncated_matrix_is_one_error_naming_the_file(dataset):
    # before: np.load(mmap_mode="r") raised "ValueError: mmap length is greater than file size"
    # with a numpy traceback, in every trial
    path = dataset / "matrix.npy"
    os.truncate(path, 10_000)
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    needed = HEADER + ROWS * WIDTH * 4
    assert str(error.value) == error_of(
        dataset, "matrix.npy", f"truncated: the file has 10000 bytes, its 60 x 100 float32 matrix needs {needed}"
    )


def test_a_truncated_header_is_one_error(dataset):
    os.truncate(dataset / "matrix.npy", 50)
    with pytest.raises(CandleInputError, match=r"matrix.npy: not a readable .npy file \(.*\); the prepared dataset"):
        load_prepared(dataset)


def test_candle_trial_exits_2_with_one_line_before_anything_is_written(dataset, tmp_path):
    os.truncate(dataset / "matrix.npy", 10_000)
    out = tmp_path / "trials"
    result = subprocess.run(
        [sys.executable, "-m", "candle_lib", "trial", "--data", str(dataset), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    needed = HEADER + ROWS * WIDTH * 4
    what = f"truncated: the file has 10000 bytes, its 60 x 100 float32 matrix needs {needed}"
    assert result.stderr == f"candle: error: {error_of(dataset, 'matrix.npy', what)}\n"
    assert not out.exists()  # no trial directory: nothing trained


def test_a_workflow_trial_stops_before_training(dataset, tmp_path):
    """run_trial (what every Snakemake trial job runs) raises the same error, before training:
    no history, no metrics, so the job fails and no trial result is recorded."""
    from candle_lib.params.specs import resolve_params
    from candle_lib.trial.run import run_trial
    from candle_lib.trial.spec import HOLDOUT, trial_spec

    os.truncate(dataset / "matrix.npy", 10_000)
    spec = trial_spec(resolve_params({"model": "dense", "dense": [4], "epochs": 1}), role=HOLDOUT, data=dataset.name)
    with pytest.raises(CandleInputError, match=r"matrix.npy: truncated: the file has 10000 bytes"):
        run_trial(dataset, spec, tmp_path / "trial")
    assert not (tmp_path / "trial" / "metrics.json").exists()
    assert not (tmp_path / "trial" / "history.csv").exists()


def test_a_valid_npy_of_another_width_names_both_widths(dataset):
    # before: trained silently on 90 features labelled by a features table of 100
    rng = np.random.default_rng(0)
    np.save(dataset / "matrix.npy", rng.random((ROWS, 90), dtype=np.float32))
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == error_of(
        dataset, "matrix.npy", "holds a 60 x 90 matrix, but manifest.json records 60 x 100 (90 columns, expected 100)"
    )


def test_a_manifest_edited_to_match_still_disagrees_with_the_features(dataset):
    np.save(dataset / "matrix.npy", np.zeros((ROWS, 90), dtype=np.float32))
    manifest = json.loads((dataset / "manifest.json").read_text())
    (dataset / "manifest.json").write_text(json.dumps({**manifest, "shape": [ROWS, 90]}))
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == error_of(
        dataset, "features.parquet", "has 100 rows, but the matrix has 90 columns (features)"
    )


def test_another_dtype_is_refused(dataset):
    np.save(dataset / "matrix.npy", np.zeros((ROWS, WIDTH), dtype=np.float64))
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == error_of(
        dataset, "matrix.npy", "holds float64 values, but manifest.json records float32"
    )


def test_a_samples_table_of_another_length_is_refused(dataset):
    samples = pd.read_parquet(dataset / "samples.parquet")
    samples.iloc[: ROWS - 1].to_parquet(dataset / "samples.parquet", index=False)
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == error_of(dataset, "samples.parquet", "has 59 rows, but the matrix has 60 rows (samples)")


def flip_byte(path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def checksum_error(dataset, name: str) -> str:
    expected = json.loads((dataset / "manifest.json").read_text())["checksums"][name]
    found = hashlib.sha256((dataset / name).read_bytes()).hexdigest()
    what = (
        f"content differs from the checksum in manifest.json (sha256 {found[:16]}..., expected {expected[:16]}...): "
        "the file changed or was corrupted after it was prepared"
    )
    return error_of(dataset, name, what)


def test_a_flipped_byte_fails_the_checksum_on_first_open(dataset):
    size = (dataset / "matrix.npy").stat().st_size
    flip_byte(dataset / "matrix.npy", HEADER + 4 * 1234 + 1)  # a value's byte; same size, valid header
    assert (dataset / "matrix.npy").stat().st_size == size
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == checksum_error(dataset, "matrix.npy")
    assert not (dataset / VERIFIED_STAMP).exists()  # nothing recorded as verified


def test_a_byte_flipped_after_verification_is_still_caught(dataset, monkeypatch):
    load_prepared(dataset)  # verified, stamped
    stamp = json.loads((dataset / VERIFIED_STAMP).read_text())
    flip_byte(dataset / "matrix.npy", HEADER + 7)  # rewrites in place: the file's mtime changes
    hashed = count_hashes(monkeypatch)
    with pytest.raises(CandleInputError) as error:
        load_prepared(dataset)
    assert str(error.value) == checksum_error(dataset, "matrix.npy")
    assert hashed == ["matrix.npy"]
    assert json.loads((dataset / VERIFIED_STAMP).read_text()) == stamp  # the stamp still names the old version


def test_an_untouched_dataset_is_hashed_once(dataset, monkeypatch):
    hashed = count_hashes(monkeypatch)
    load_prepared(dataset)
    assert hashed == ALL
    manifest = json.loads((dataset / "manifest.json").read_text())
    expected = {}
    for name in ("matrix.npy", "samples.parquet", "features.parquet"):
        st = (dataset / name).stat()
        expected[name] = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "inode": st.st_ino,
            "sha256": manifest["checksums"][name],
        }
    assert json.loads((dataset / VERIFIED_STAMP).read_text()) == {"files": expected}
    load_prepared(dataset)
    load_prepared(dataset, mmap=False)
    assert hashed == ALL  # no more hashing
    # a new version of one file (here only its modification time) is hashed again, alone
    os.utime(dataset / "matrix.npy", ns=(1, 2))
    load_prepared(dataset)
    assert hashed == [*ALL, "matrix.npy"]
    assert json.loads((dataset / VERIFIED_STAMP).read_text())["files"]["matrix.npy"]["mtime_ns"] == 2


def test_a_stamp_from_another_preparation_does_not_count(dataset, monkeypatch):
    """The stamp holds the digest it verified: a manifest that expects another digest (a
    re-prepared dataset whose files kept their size, time and inode) is verified again."""
    load_prepared(dataset)
    stamp = json.loads((dataset / VERIFIED_STAMP).read_text())
    stamp["files"]["samples.parquet"]["sha256"] = "0" * 64
    (dataset / VERIFIED_STAMP).write_text(json.dumps(stamp))
    hashed = count_hashes(monkeypatch)
    load_prepared(dataset)
    assert hashed == ["samples.parquet"]


# --------------------------------------------------------------------------- drug response


@pytest.fixture(scope="module")
def drug_pristine(tmp_path_factory):
    synthetic = synthetic_drug_response(
        n_cell_lines=12, n_drugs=8, n_genes=10, n_descriptors=4, n_fingerprint_bits=8, seed=3
    )

    def table(frame, id_column):
        return FeatureTable(
            ids=pd.Index(frame[id_column].astype(str)),
            columns=pd.Index(frame.columns[1:]),
            matrix=frame.iloc[:, 1:].to_numpy(np.float32),
        )

    out = tmp_path_factory.mktemp("drug") / "prep-drug0001"
    prepare_drug_response(
        out,
        table(synthetic.cell_features, "cell_line"),
        table(synthetic.drug_features, "drug"),
        synthetic.responses,
        target="growth",
        splits={"seed": 1},
    )
    return out


@pytest.fixture
def drug_set(drug_pristine, tmp_path):
    copy = tmp_path / "prep-drug0001"
    shutil.copytree(drug_pristine, copy)
    return copy


def test_a_drug_dataset_opens_and_records_its_checksums(drug_set):
    manifest = json.loads((drug_set / "manifest.json").read_text())
    assert manifest["dtype"] == "float32"
    for name in ("cell_features.npy", "drug_features.npy", "responses.parquet", "features.parquet"):
        assert manifest["checksums"][name] == hashlib.sha256((drug_set / name).read_bytes()).hexdigest()
    data = load_drug_prepared(drug_set)
    assert data.cell.shape == tuple(manifest["cell_shape"]) == (12, 10)
    assert sorted(json.loads((drug_set / VERIFIED_STAMP).read_text())["files"]) == sorted(manifest["checksums"])


def test_a_truncated_cell_matrix_is_one_error(drug_set):
    os.truncate(drug_set / "cell_features.npy", 200)
    with pytest.raises(CandleInputError) as error:
        load_drug_prepared(drug_set)
    assert str(error.value) == error_of(
        drug_set,
        "cell_features.npy",
        f"truncated: the file has 200 bytes, its 12 x 10 float32 matrix needs {HEADER + 480}",
    )


def test_a_drug_matrix_with_fewer_rows_than_the_join_needs(drug_set):
    manifest = json.loads((drug_set / "manifest.json").read_text())
    np.save(drug_set / "drug_features.npy", np.zeros((5, manifest["drug_shape"][1]), dtype=np.float32))
    (drug_set / "manifest.json").write_text(json.dumps({**manifest, "drug_shape": [5, manifest["drug_shape"][1]]}))
    rows = pd.read_parquet(drug_set / "responses.parquet")["drug_row"]
    with pytest.raises(CandleInputError) as error:
        load_drug_prepared(drug_set)
    what = f"column drug_row points to rows {rows.min()}..{rows.max()}, but drug_features.npy has 5 rows"
    assert str(error.value) == error_of(drug_set, "responses.parquet", what)


def test_a_flipped_byte_in_a_drug_matrix_fails_its_checksum(drug_set):
    flip_byte(drug_set / "drug_features.npy", HEADER + 3)
    with pytest.raises(CandleInputError) as error:
        load_drug_prepared(drug_set)
    assert str(error.value) == checksum_error(drug_set, "drug_features.npy")


def test_a_drug_features_table_of_another_width_is_refused(drug_set):
    features = pd.read_parquet(drug_set / "features.parquet")
    features.iloc[1:].to_parquet(drug_set / "features.parquet", index=False)
    manifest = json.loads((drug_set / "manifest.json").read_text())
    cell, drug = manifest["cell_shape"][1], manifest["drug_shape"][1]
    with pytest.raises(CandleInputError) as error:
        load_drug_prepared(drug_set)
    what = (
        f"has {cell + drug} rows, but the model reads {cell + drug + 1} columns "
        f"({cell} cell features + {drug} drug features + dose)"
    )
    assert str(error.value) == error_of(drug_set, "features.parquet", what)
