"""The prepared dataset: prepare_matrix on a hand-built CountData, write, and load by mmap."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from candle_lib.atomic import atomic_path, write_json
from candle_lib.data.ingest import CountData
from candle_lib.data.prepared import (
    PREPARED_FILES,
    load_prepared,
    prepare_matrix,
    write_prepared,
)
from candle_lib.errors import CandleInputError

# Six samples, five genes. G5 is a filler so that every sample has exactly 1e6 reads: then
# CPM = counts, and log2(CPM + 1) of 0, 1, 3, 7, 15, 255 is 0, 1, 2, 3, 4, 8.
#
#              G1   G2   G3   G4    (log2p1 of G2 / G3 / G4)      split
#   s1 normal   0    0    1    0    0 / 1 / 0                     train
#   s2 tumor    0   15    3    7    4 / 2 / 3                     train
#   s3 normal   0    0    1    0    0 / 1 / 0                     train
#   s4 tumor    0   15    3    7    4 / 2 / 3                     train
#   s5 normal   0    1  255    0    1 / 8 / 0                     val
#   s6 tumor    7    1    0    7    1 / 0 / 3                     test
#
# min_nonzero_samples=2 drops G1 (non-zero in 1 sample only); G5 is non-zero everywhere.
# Variances over the training rows (s1-s4): G2 4, G3 0.25, G4 2.25, G5 ~0 (log2 of ~1e6 with
# differences of ~25 reads) -> top_variance=2 keeps G2 and G4.
# Over all rows G3 (1,2,1,2,8,0: var ~6.9) would beat G4 (var 2.25): the filter must use train rows.
SMALL = np.array(
    [
        [0, 0, 1, 0],
        [0, 15, 3, 7],
        [0, 0, 1, 0],
        [0, 15, 3, 7],
        [0, 1, 255, 0],
        [7, 1, 0, 7],
    ]
)
COUNTS = np.column_stack([SMALL, 1_000_000 - SMALL.sum(axis=1)]).astype(np.uint32)
IDS = ["s1", "s2", "s3", "s4", "s5", "s6"]
LABELS = ["normal", "tumor", "normal", "tumor", "normal", "tumor"]
PATIENTS = ["P1", "P1", "P2", "P2", "P3", "P4"]
SPLITS_IN_ORDER = ["train", "train", "train", "train", "val", "test"]
FOLDS_IN_ORDER = [0, 0, 1, 1, 1, -1]
EXPECTED_MATRIX = np.array([[0, 0], [4, 3], [0, 0], [4, 3], [1, 0], [1, 3]], dtype=np.float32)
OPTIONS = {"normalization": "cpm", "transform": "log2p1", "filters": {"min_nonzero_samples": 2, "top_variance": 2}}


def count_data() -> CountData:
    samples = pd.DataFrame({"sample_id": IDS, "label": LABELS, "patient": PATIENTS})
    genes = pd.DataFrame(
        {
            "gene_id": ["G1", "G2", "G3", "G4", "G5"],
            "length": [100.0, 200.0, 300.0, 400.0, 500.0],
            "gene_type": ["protein_coding", "lncRNA", "protein_coding", "protein_coding", "misc_RNA"],
        }
    )
    return CountData(COUNTS, samples, genes)


def splits_table() -> pd.DataFrame:
    # deliberately in reverse order: prepare_matrix must align by sample id
    table = pd.DataFrame({"sample_id": IDS, "split": SPLITS_IN_ORDER, "fold": FOLDS_IN_ORDER})
    return table.iloc[::-1].reset_index(drop=True)


def prepare(options=OPTIONS, data=None, group_column="patient"):
    return prepare_matrix(
        data or count_data(),
        splits_table(),
        options,
        id_column="sample_id",
        label_column="label",
        group_column=group_column,
    )


def test_prepare_matrix_values_and_feature_selection():
    matrix, samples, features, summary = prepare()
    assert matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(matrix, EXPECTED_MATRIX, atol=1e-6)
    assert features["feature_id"].tolist() == ["G2", "G4"]
    assert features["gene_type"].tolist() == ["lncRNA", "protein_coding"]
    assert features["length"].tolist() == [200.0, 400.0]
    assert summary["n_genes_in"] == 5 and summary["n_features"] == 2
    assert summary["classes"] == ["normal", "tumor"]
    assert summary["label_counts"] == {"normal": 3, "tumor": 3}
    assert summary["split_counts"] == {"test": 1, "train": 4, "val": 1}


def test_prepare_matrix_sample_table():
    _, samples, _, _ = prepare()
    assert list(samples.columns) == ["sample_id", "label", "label_code", "group", "split", "fold"]
    assert samples["sample_id"].tolist() == IDS
    assert samples["label"].tolist() == LABELS
    assert samples["label_code"].tolist() == [0, 1, 0, 1, 0, 1]  # normal < tumor
    assert samples["group"].tolist() == PATIENTS
    assert samples["split"].tolist() == SPLITS_IN_ORDER  # aligned although the table was reversed
    assert samples["fold"].tolist() == FOLDS_IN_ORDER


def test_prepare_matrix_without_group_column_uses_sample_ids():
    _, samples, _, _ = prepare(group_column=None)
    assert samples["group"].tolist() == IDS


def test_prepare_matrix_no_filters_keeps_every_gene():
    options = {"normalization": "cpm", "transform": "none"}
    matrix, _, features, _ = prepare(options)
    assert features["feature_id"].tolist() == ["G1", "G2", "G3", "G4", "G5"]
    # rows sum to 1e6 reads, so CPM equals the counts
    np.testing.assert_allclose(matrix, COUNTS.astype(np.float32), rtol=1e-6)


def test_prepare_matrix_fpkm_uses_protein_coding_genes():
    # FPKM with gene types: RC_pc = G1 + G3 + G4 (protein-coding). Independent formula here.
    options = {"normalization": "fpkm", "transform": "none"}
    matrix, _, _, _ = prepare(options)
    lengths = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    c = COUNTS.astype(np.float64)
    rc_pc = c[:, 0] + c[:, 2] + c[:, 3]
    expected = c * 1e9 / (rc_pc[:, None] * lengths[None, :])
    np.testing.assert_allclose(matrix, expected.astype(np.float32), rtol=1e-6)


def test_prepare_matrix_missing_split_assignment():
    data = count_data()
    with pytest.raises(CandleInputError, match="no split assignment"):
        prepare_matrix(
            data, splits_table().iloc[1:], OPTIONS, id_column="sample_id", label_column="label", group_column=None
        )


def test_write_and_load_prepared(tmp_path):
    matrix, samples, features, summary = prepare()
    out = tmp_path / "prepared"
    manifest = write_prepared(out, matrix, samples, features, {"classes": summary["classes"], "normalization": "cpm"})
    assert sorted(p.name for p in out.iterdir()) == sorted(PREPARED_FILES)  # no temporary files left
    # checksums are the sha256 of the files as written
    for name in ("matrix.npy", "samples.parquet", "features.parquet"):
        assert manifest["checksums"][name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert manifest["shape"] == [6, 2] and manifest["dtype"] == "float32"
    assert json.loads((out / "manifest.json").read_text()) == manifest

    loaded = load_prepared(out)
    assert isinstance(loaded.matrix, np.memmap)
    assert loaded.matrix.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(loaded.matrix), matrix)
    pd.testing.assert_frame_equal(loaded.samples, samples)
    pd.testing.assert_frame_equal(loaded.features, features)
    assert loaded.classes == ["normal", "tumor"]
    np.testing.assert_array_equal(loaded.rows("train"), [0, 1, 2, 3])
    np.testing.assert_array_equal(loaded.rows(("val", "test")), [4, 5])

    eager = load_prepared(out, mmap=False)
    assert not isinstance(eager.matrix, np.memmap)
    np.testing.assert_array_equal(eager.matrix, matrix)


@pytest.mark.parametrize("missing", PREPARED_FILES)
def test_incomplete_directory_is_an_error(tmp_path, missing):
    matrix, samples, features, summary = prepare()
    out = tmp_path / "prepared"
    write_prepared(out, matrix, samples, features, {"classes": summary["classes"]})
    (out / missing).unlink()
    with pytest.raises(CandleInputError, match=f"incomplete: {missing} is missing") as info:
        load_prepared(out)
    assert str(out) in str(info.value)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "file.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    write_json(target, {"a": np.int64(3), "b": np.array([1.5])})
    assert json.loads(target.read_text()) == {"a": 3, "b": [1.5]}
    assert list(target.parent.iterdir()) == [target]
