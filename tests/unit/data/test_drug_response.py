"""Joining drug responses to cell-line and drug features by id, without the wide join."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.drug_tables import (
    FeatureTable,
    gather_batch,
    join_indices,
    read_cell_features,
    read_drug_features,
    read_responses,
)
from candle_lib.data.synthetic import synthetic_drug_response
from candle_lib.errors import CandleInputError

# rows 2 and 7: cell line without features; row 3: drug without features; row 5: both
RESPONSES = pd.DataFrame(
    {
        "cell_line": ["C1", "C2", "C9", "C1", "C3", "C9", "C2", "C8"],
        "drug": ["D1", "D2", "D1", "D7", "D2", "D8", "D1", "D2"],
        "dose": [-6.0, -5.0, -6.0, -4.0, -7.0, -5.0, -8.0, -6.5],
        "growth": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0],
    }
)
CELL_IDS = ["C3", "C1", "C2"]
DRUG_IDS = ["D2", "D1"]
CELL_MATRIX = np.arange(3 * 4, dtype=np.float32).reshape(3, 4) + 100  # 3 cell lines x 4 features
DRUG_MATRIX = -np.arange(2 * 2, dtype=np.float32).reshape(2, 2) - 1  # 2 drugs x 2 features


@pytest.fixture
def join():
    return join_indices(RESPONSES, CELL_IDS, DRUG_IDS)


def test_join_indices_hand_example(join):
    # kept input rows 0, 1, 4, 6: (C1, D1), (C2, D2), (C3, D2), (C2, D1)
    np.testing.assert_array_equal(join.response_rows, [0, 1, 4, 6])
    np.testing.assert_array_equal(join.cell_index, [1, 2, 0, 2])
    np.testing.assert_array_equal(join.drug_index, [1, 0, 0, 1])
    assert join.cell_index.dtype == np.int32 and join.drug_index.dtype == np.int32
    assert len(join) == 4
    assert join.responses["growth"].tolist() == [10.0, 20.0, 50.0, 70.0]
    assert join.responses.index.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(join.column("dose"), [-6.0, -5.0, -7.0, -8.0])
    assert join.report == {
        "n_responses": 8,
        "n_kept": 4,
        "n_dropped": 4,
        "missing_cell_features": {"column": "cell_line", "n_responses": 3, "n_ids": 2, "examples": ["C9", "C8"]},
        "missing_drug_features": {"column": "drug", "n_responses": 2, "n_ids": 2, "examples": ["D7", "D8"]},
    }
    json.dumps(join.report)  # JSON-ready


def test_join_nothing_missing():
    responses = RESPONSES.iloc[[0, 1, 4, 6]]
    join = join_indices(responses, pd.Index(CELL_IDS), np.array(DRUG_IDS))
    np.testing.assert_array_equal(join.response_rows, [0, 1, 2, 3])
    np.testing.assert_array_equal(join.cell_index, [1, 2, 0, 2])
    assert join.report["n_dropped"] == 0
    assert join.report["missing_cell_features"] == {"column": "cell_line", "n_responses": 0, "n_ids": 0, "examples": []}


def test_join_examples_are_capped_at_five_and_empty_ids_reported():
    ids = ["X1", "X2", "X3", "X4", "X5", "X6", "X6", None, "C1"]
    responses = pd.DataFrame({"cell": ids, "compound": ["D1"] * len(ids), "dose": 0.0})
    join = join_indices(responses, CELL_IDS, DRUG_IDS, cell_column="cell", drug_column="compound")
    missing = join.report["missing_cell_features"]
    assert missing == {"column": "cell", "n_responses": 8, "n_ids": 7, "examples": ["X1", "X2", "X3", "X4", "X5"]}
    assert join.response_rows.tolist() == [8]
    few = join_indices(pd.DataFrame({"cell_line": ["C1", None], "drug": ["D1", "D1"]}), CELL_IDS, DRUG_IDS)
    assert few.report["missing_cell_features"]["examples"] == [None]
    json.dumps(few.report)


def test_join_matches_numeric_ids_against_text_ids():
    # NSC numbers parsed as integers in one table and read as text in the other
    responses = pd.DataFrame({"cell_line": ["C1", "C2", "C3"], "drug": [740, 123, 999]})
    join = join_indices(responses, CELL_IDS, ["123", "740"])
    np.testing.assert_array_equal(join.drug_index, [1, 0])
    assert join.report["missing_drug_features"]["examples"] == ["999"]
    same_kind = join_indices(responses, CELL_IDS, [123, 740])
    np.testing.assert_array_equal(same_kind.drug_index, [1, 0])
    assert same_kind.report["missing_drug_features"]["examples"] == [999]


def test_join_rejects_duplicate_feature_ids_and_missing_columns():
    with pytest.raises(CandleInputError, match="cell line id 'C1' appears more than once"):
        join_indices(RESPONSES, ["C1", "C2", "C1"], DRUG_IDS)
    with pytest.raises(CandleInputError, match="column 'compound'"):
        join_indices(RESPONSES, CELL_IDS, DRUG_IDS, drug_column="compound")


def test_join_at_scale_agrees_with_a_dictionary_lookup():
    rng = np.random.default_rng(0)
    cells = np.array([f"C{i}" for i in range(300)], dtype=object)
    drugs = np.array([f"D{i}" for i in range(2000)], dtype=object)
    n = 200_000
    responses = pd.DataFrame({"cell_line": cells[rng.integers(0, 300, n)], "drug": drugs[rng.integers(0, 2000, n)]})
    cell_ids, drug_ids = cells[rng.permutation(300)[:290]], drugs[rng.permutation(2000)[:1990]]
    join = join_indices(responses, cell_ids, drug_ids)
    cell_pos = {c: i for i, c in enumerate(cell_ids)}
    drug_pos = {d: i for i, d in enumerate(drug_ids)}
    expected = [
        (row, cell_pos[c], drug_pos[d])
        for row, (c, d) in enumerate(zip(responses["cell_line"], responses["drug"]))
        if c in cell_pos and d in drug_pos
    ]
    rows, ci, di = (np.array(x) for x in zip(*expected))
    np.testing.assert_array_equal(join.response_rows, rows)
    np.testing.assert_array_equal(join.cell_index, ci)
    np.testing.assert_array_equal(join.drug_index, di)
    no_cell = ~responses["cell_line"].isin(cell_ids)
    assert join.report["missing_cell_features"]["n_responses"] == int(no_cell.sum())
    assert join.report["missing_cell_features"]["n_ids"] == 10
    assert join.report["n_dropped"] == n - len(rows)


# ------------------------------------------------------------------------------------- batches


def explicit_rows(input_rows, extra=("dose",)):
    """The wide join written out by hand for some input rows: [cell | drug | extras]."""
    cell_of = dict(zip(CELL_IDS, CELL_MATRIX))
    drug_of = dict(zip(DRUG_IDS, DRUG_MATRIX))
    out = []
    for r in input_rows:
        row = RESPONSES.iloc[r]
        out.append(np.concatenate([cell_of[row["cell_line"]], drug_of[row["drug"]], [row[c] for c in extra]]))
    return np.array(out, dtype=np.float32)


def test_gather_batch_equals_explicit_concatenation(join):
    # join positions 3, 0, 2 are input rows 6, 0, 4
    batch = gather_batch(CELL_MATRIX, DRUG_MATRIX, join, [3, 0, 2])
    assert batch.shape == (3, 4 + 2 + 1) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, explicit_rows([6, 0, 4]))
    np.testing.assert_array_equal(batch[0], [108, 109, 110, 111, -3, -4, -8])  # C2, D1, dose -8


def test_gather_batch_extra_columns_slices_out_and_memmap(join, tmp_path):
    both = gather_batch(CELL_MATRIX, DRUG_MATRIX, join, np.array([1]), extra_columns=["dose", "growth"])
    np.testing.assert_array_equal(both, explicit_rows([1], extra=("dose", "growth")))
    bare = gather_batch(CELL_MATRIX, DRUG_MATRIX, join, [1, 2], extra_columns=[])
    np.testing.assert_array_equal(bare, explicit_rows([1, 4], extra=()))
    everything = gather_batch(CELL_MATRIX, DRUG_MATRIX, join, slice(None))
    np.testing.assert_array_equal(everything, explicit_rows([0, 1, 4, 6]))
    out = np.full((2, 7), np.nan, dtype=np.float32)
    assert gather_batch(CELL_MATRIX, DRUG_MATRIX, join, [2, 2], out=out) is out
    np.testing.assert_array_equal(out, explicit_rows([4, 4]))
    np.save(tmp_path / "cells.npy", CELL_MATRIX)
    mapped = np.load(tmp_path / "cells.npy", mmap_mode="r")
    np.testing.assert_array_equal(gather_batch(mapped, DRUG_MATRIX, join, [3, 0]), explicit_rows([6, 0]))
    table = FeatureTable(pd.Index(CELL_IDS), pd.Index(list("abcd")), CELL_MATRIX)
    np.testing.assert_array_equal(gather_batch(table, DRUG_MATRIX, join, [3]), explicit_rows([6]))


def test_gather_batch_rejects_mismatches(join):
    with pytest.raises(ValueError, match="3 cell ids"):
        gather_batch(CELL_MATRIX[:2], DRUG_MATRIX, join, [0])
    with pytest.raises(CandleInputError, match="column 'auc'"):
        gather_batch(CELL_MATRIX, DRUG_MATRIX, join, [0], extra_columns=["auc"])
    with pytest.raises(ValueError, match="out has shape"):
        gather_batch(CELL_MATRIX, DRUG_MATRIX, join, [0], out=np.empty((2, 7), np.float32))


# ------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_read_tables_and_join_end_to_end(tmp_path, suffix):
    data = synthetic_drug_response(n_cell_lines=8, n_drugs=6, n_genes=5, n_descriptors=3, n_fingerprint_bits=4, seed=3)
    paths = {}
    for name in ("cell_features", "drug_features", "responses"):
        frame = getattr(data, name)
        paths[name] = tmp_path / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(paths[name], index=False)
        else:
            frame.to_csv(paths[name], sep="," if suffix == ".csv" else "\t", index=False)
    cells = read_cell_features(paths["cell_features"])
    drugs = read_drug_features(paths["drug_features"])
    responses = read_responses(paths["responses"])
    assert cells.matrix.dtype == np.float32 and cells.matrix.shape == (8, 5)
    assert cells.ids.tolist() == data.cell_features["cell_line"].tolist()
    assert drugs.columns.tolist()[:2] == ["DESC0001", "DESC0002"] and drugs.matrix.shape == (6, 7)
    np.testing.assert_allclose(cells.matrix, data.cell_features.iloc[:, 1:].to_numpy(np.float32), rtol=1e-6)
    join = join_indices(responses, cells, drugs)
    report = join.report
    assert report["missing_cell_features"]["n_ids"] == 2
    assert set(report["missing_cell_features"]["examples"]) == set(data.unprofiled_cell_lines)
    assert set(report["missing_drug_features"]["examples"]) == set(data.unprofiled_drugs)
    r = data.responses
    unusable = r["cell_line"].isin(data.unprofiled_cell_lines) | r["drug"].isin(data.unprofiled_drugs)
    assert report["n_dropped"] == int(unusable.sum()) > 0
    batch = gather_batch(cells, drugs, join, [0, len(join) - 1])
    first = r[~unusable].iloc[0]
    expected = np.concatenate(
        [
            data.cell_features.set_index("cell_line").loc[first["cell_line"]].to_numpy(np.float32),
            data.drug_features.set_index("drug").loc[first["drug"]].to_numpy(np.float32),
            [first["dose"]],
        ]
    )
    np.testing.assert_allclose(batch[0], expected, rtol=1e-6)


def test_numeric_ids_in_files_are_read_as_text(tmp_path):
    (tmp_path / "drugs.csv").write_text("NSC,w1\n740,0.5\n123,1.5\n")
    (tmp_path / "resp.csv").write_text("cell_line,NSC,dose,growth\nC1,123,-6,10\nC1,0740,-6,5\n")
    drugs = read_drug_features(tmp_path / "drugs.csv", id_column="NSC")
    responses = read_responses(tmp_path / "resp.csv", drug_column="NSC")
    assert drugs.ids.tolist() == ["740", "123"]
    join = join_indices(responses, ["C1"], drugs, drug_column="NSC")
    assert join.drug_index.tolist() == [1]
    assert join.report["missing_drug_features"]["examples"] == ["0740"]  # ids are text, not numbers


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "responses.tsv"
    path.write_text("cell_line\tdrug\tdose\nC1\tD1\t-6\n")
    with pytest.raises(CandleInputError) as error:
        read_responses(path)
    message = str(error.value)
    assert "responses.tsv" in message and "'growth'" in message and "column growth" in message
    with pytest.raises(CandleInputError, match="missing column 'auc'"):
        read_responses(path, target_column="auc")
    features = tmp_path / "cells.csv"
    features.write_text("name,g1,g2\nC1,1,2\n")
    with pytest.raises(CandleInputError, match=r"cells\.csv: column cell_line: missing column 'cell_line'"):
        read_cell_features(features)


def test_duplicate_feature_ids_are_named(tmp_path):
    path = tmp_path / "drugs.tsv"
    path.write_text("drug\tx\nD1\t1\nD2\t2\nD1\t3\n")
    with pytest.raises(CandleInputError, match=r"drugs\.tsv: column drug: drug id 'D1' appears more than once"):
        read_drug_features(path)


def test_bad_values_are_named_by_line_and_column(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text("cell_line,drug,dose,growth\nC1,D1,-6,10\nC1,D2,high,20\n")
    with pytest.raises(CandleInputError, match=r"responses\.csv: line 3, column dose: value 'high' is not a number"):
        read_responses(path)
    path.write_text("cell_line,drug,dose,growth\nC1,D1,-6,\n")
    with pytest.raises(CandleInputError, match=r"line 2, column growth"):
        read_responses(path)
    cells = tmp_path / "cells.csv"
    cells.write_text("cell_line,g1,g2\nC1,1,2\nC2,,4\n")
    with pytest.raises(CandleInputError, match=r"cells\.csv: line 3, column g1: cell line 'C2' has an empty value"):
        read_cell_features(cells)
    filled = read_cell_features(cells, fill_missing=0.0)
    np.testing.assert_array_equal(filled.matrix, [[1, 2], [0, 4]])
    cells.write_text("cell_line,g1\nC1,1\nC2,abc\n")
    with pytest.raises(CandleInputError, match=r"line 3, column g1: value 'abc' is not a number"):
        read_cell_features(cells)
    with pytest.raises(CandleInputError, match="file not found"):
        read_cell_features(tmp_path / "nope.csv")
