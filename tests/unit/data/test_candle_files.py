"""CANDLE's own file layouts: NT3/TC1 header-less X/y CSVs and P1B1/P1B2 tables with a header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.candle_files import CandleData, read_candle_p1b, read_candle_xy
from candle_lib.errors import CandleInputError

# Values exactly representable in float32, so the round trip is exact.
TRAIN = np.array(
    [
        [0, 0.5, 1.25, -2.0],
        [1, 3.0, 0.0, 7.75],
        [1, 1e-3, 2.5e6, 0.125],
    ]
)
TEST = np.array(
    [
        [0, 9.5, -0.25, 4.0],
        [1, 0.0, 1.0, 2.0],
    ]
)


def save_csv(path: Path, array: np.ndarray) -> Path:
    np.savetxt(path, array, delimiter=",", fmt="%.9g")  # NT3 files: no header, no index
    return path


def message_of(call, *args) -> str:
    with pytest.raises(CandleInputError) as info:
        call(*args)
    return str(info.value)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_nt3_layout_round_trip(tmp_path, suffix):
    train, test = save_csv(tmp_path / f"nt_train2{suffix}", TRAIN), save_csv(tmp_path / f"nt_test2{suffix}", TEST)
    if suffix.endswith(".gz"):
        assert train.read_bytes()[:2] == b"\x1f\x8b"  # np.savetxt gzips by name
    data = read_candle_xy(train, test)
    assert isinstance(data, CandleData)
    values, samples, features = data  # unpacks as a tuple
    assert values.dtype == np.float32
    np.testing.assert_array_equal(
        values,
        np.array(
            [[0.5, 1.25, -2.0], [3.0, 0.0, 7.75], [1e-3, 2.5e6, 0.125], [9.5, -0.25, 4.0], [0.0, 1.0, 2.0]],
            dtype=np.float32,
        ),
    )
    assert samples["sample_id"].tolist() == ["train_0", "train_1", "train_2", "test_0", "test_1"]
    assert samples["label"].tolist() == ["0", "1", "1", "0", "1"]
    assert samples["split_hint"].tolist() == ["train", "train", "train", "test", "test"]
    assert features["feature_id"].tolist() == ["f0", "f1", "f2"]


def test_tc1_labels_are_integers_as_text(tmp_path):
    train = save_csv(tmp_path / "type_18_train.csv", np.array([[17, 1.0], [3, 2.0], [0, 3.0]]))
    test = save_csv(tmp_path / "type_18_test.csv", np.array([[12, 4.0]]))
    data = read_candle_xy(train, test)
    assert data.samples["label"].tolist() == ["17", "3", "0", "12"]
    np.testing.assert_array_equal(data.values[:, 0], np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32))


def test_width_mismatch_names_both_files_and_widths(tmp_path):
    train = save_csv(tmp_path / "train.csv", TRAIN)  # 4 columns
    test = save_csv(tmp_path / "test.csv", TEST[:, :3])  # 3 columns
    message = message_of(read_candle_xy, train, test)
    assert str(train) in message and str(test) in message
    assert "4 columns" in message and "3 columns" in message


def test_non_numeric_cell_names_file_row_and_column(tmp_path):
    train = save_csv(tmp_path / "train.csv", TRAIN)
    lines = train.read_text().splitlines()
    cells = lines[1].split(",")
    cells[2] = "high"  # line 2, column 3 = feature f1
    lines[1] = ",".join(cells)
    train.write_text("\n".join(lines) + "\n")
    message = message_of(read_candle_xy, train, save_csv(tmp_path / "test.csv", TEST))
    assert (
        str(train) in message
        and "line 2" in message
        and "column 3" in message
        and "'high'" in message
        and "f1" in message
    )


def test_non_integer_label(tmp_path):
    train = save_csv(tmp_path / "train.csv", np.array([[0, 1.0], [0.5, 2.0]]))
    message = message_of(read_candle_xy, train, save_csv(tmp_path / "test.csv", np.array([[1, 1.0]])))
    assert str(train) in message and "line 2" in message and "column 1" in message and "label" in message


@pytest.mark.parametrize("cell, word", [("", "missing"), ("nan", "missing"), ("inf", "infinite")])
def test_missing_or_infinite_value_names_line_and_column(tmp_path, cell, word):
    test = tmp_path / "test.csv"
    test.write_text(f"0,1,2,3\n1,4,{cell},6\n")
    message = message_of(read_candle_xy, save_csv(tmp_path / "train.csv", TRAIN), test)
    assert str(test) in message and "line 2" in message and "column 3" in message and word in message


def test_ragged_line_names_the_line(tmp_path):
    test = tmp_path / "test.csv"
    test.write_text("0,1,2,3\n1,4,5,6,7\n")
    message = message_of(read_candle_xy, save_csv(tmp_path / "train.csv", TRAIN), test)
    assert str(test) in message and "line 2" in message


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    train = save_csv(tmp_path / "train.csv", TRAIN)
    assert "file is empty" in message_of(read_candle_xy, train, empty)
    assert "file not found" in message_of(read_candle_xy, tmp_path / "absent.csv", train)


# --- P1B1 / P1B2 -------------------------------------------------------------------------------

P1B_TRAIN = pd.DataFrame(
    {
        "case_id": ["TCGA-01", "TCGA-02", "TCGA-03"],
        "cancer_type": ["BRCA", "LUAD", "BRCA"],
        "ENSG01.1": [0.5, 1.0, 2.0],
        "ENSG02.4": [0.0, 0.25, 8.0],
        "ENSG03.2": [3.5, 0.0, 1.5],
    }
)
P1B_TEST = pd.DataFrame(
    {
        "case_id": ["TCGA-09"],
        "cancer_type": ["LUAD"],
        "ENSG01.1": [4.0],
        "ENSG02.4": [5.0],
        "ENSG03.2": [6.0],
    }
)


def save_p1b(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_p1b_layout_with_header(tmp_path, suffix):
    data = read_candle_p1b(save_p1b(tmp_path / f"P1B1.train{suffix}", P1B_TRAIN))
    assert data.values.dtype == np.float32
    np.testing.assert_array_equal(
        data.values, np.array([[0.5, 0.0, 3.5], [1.0, 0.25, 0.0], [2.0, 8.0, 1.5]], dtype=np.float32)
    )
    assert data.samples["sample_id"].tolist() == ["TCGA-01", "TCGA-02", "TCGA-03"]
    assert data.samples["label"].tolist() == ["BRCA", "LUAD", "BRCA"]
    assert data.samples["split_hint"].tolist() == ["train", "train", "train"]
    assert data.features["feature_id"].tolist() == ["ENSG01.1", "ENSG02.4", "ENSG03.2"]


def test_p1b_with_test_file_in_other_column_order(tmp_path):
    test = P1B_TEST[["cancer_type", "ENSG03.2", "case_id", "ENSG01.1", "ENSG02.4"]]
    data = read_candle_p1b(save_p1b(tmp_path / "train.csv", P1B_TRAIN), save_p1b(tmp_path / "test.csv", test))
    assert data.samples["sample_id"].tolist() == ["TCGA-01", "TCGA-02", "TCGA-03", "TCGA-09"]
    assert data.samples["split_hint"].tolist() == ["train", "train", "train", "test"]
    np.testing.assert_array_equal(data.values[3], np.array([4.0, 5.0, 6.0], dtype=np.float32))


def test_p1b_duplicate_case_id(tmp_path):
    frame = P1B_TRAIN.assign(case_id=["TCGA-01", "TCGA-02", "TCGA-01"])
    path = save_p1b(tmp_path / "train.csv", frame)
    message = message_of(read_candle_p1b, path)
    assert str(path) in message and "'TCGA-01'" in message and "line 4" in message


def test_p1b_case_in_train_and_test(tmp_path):
    test = save_p1b(tmp_path / "test.csv", P1B_TEST.assign(case_id=["TCGA-02"]))
    message = message_of(read_candle_p1b, save_p1b(tmp_path / "train.csv", P1B_TRAIN), test)
    assert str(test) in message and "'TCGA-02'" in message and "held out" in message


def test_p1b_duplicate_gene_header(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("case_id,cancer_type,G1,G2,G1\nA,BRCA,1,2,3\n")
    message = message_of(read_candle_p1b, path)
    assert str(path) in message and "gene 'G1'" in message and "columns 3 and 5" in message


def test_p1b_non_numeric_cell_names_row_and_gene(tmp_path):
    frame = P1B_TRAIN.astype({"ENSG02.4": object})
    frame.loc[2, "ENSG02.4"] = "n/d"  # line 4, column 4
    path = save_p1b(tmp_path / "train.csv", frame)
    message = message_of(read_candle_p1b, path)
    assert (
        str(path) in message
        and "line 4" in message
        and "column 4" in message
        and "ENSG02.4" in message
        and "'n/d'" in message
    )


def test_p1b_missing_value_and_missing_label(tmp_path):
    frame = P1B_TRAIN.astype({"ENSG03.2": object})
    frame.loc[1, "ENSG03.2"] = None  # line 3, column 5
    path = save_p1b(tmp_path / "train.csv", frame)
    message = message_of(read_candle_p1b, path)
    assert "line 3" in message and "column 5" in message and "ENSG03.2" in message and "missing" in message
    path = save_p1b(tmp_path / "train2.csv", P1B_TRAIN.assign(cancer_type=["BRCA", None, "LUAD"]))
    message = message_of(read_candle_p1b, path)
    assert "cancer_type is missing" in message and "line 3" in message


def test_p1b_missing_columns_and_gene_mismatch(tmp_path):
    path = save_p1b(tmp_path / "train.csv", P1B_TRAIN.drop(columns="cancer_type"))
    assert "cancer_type" in message_of(read_candle_p1b, path)
    train = save_p1b(tmp_path / "ok.csv", P1B_TRAIN)
    test = save_p1b(tmp_path / "test.csv", P1B_TEST.rename(columns={"ENSG03.2": "ENSG99.1"}))
    message = message_of(read_candle_p1b, train, test)
    assert str(train) in message and str(test) in message and "ENSG03.2" in message and "ENSG99.1" in message
