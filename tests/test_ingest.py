"""Reading and validating counts, gene annotation and sample sheet into one aligned CountData."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candle_lib.errors import CandleInputError
from candle_lib.ingest import ingest, load_count_data, read_table, save_count_data

# Counts, genes x samples. Gene rows deliberately not in annotation order, sample columns not in
# sample-sheet order.
COUNTS = pd.DataFrame(
    {"S1": [10, 1, 100], "S2": [20, 2, 200], "S3": [30, 3, 300]},
    index=pd.Index(["G2", "G1", "G3"], name="gene_id"),
)
# Annotation order G1, G2, G3 (+ G4, which has no counts and is dropped).
GENES = pd.DataFrame(
    {
        "gene_id": ["G1", "G2", "G3", "G4"],
        "length": [1000, 2000, 500, 700],
        "gene_type": ["protein_coding", "lncRNA", "protein_coding", "protein_coding"],
    }
)
# Sample-sheet order S3, S1, S2.
SHEET = pd.DataFrame({"sample_id": ["S3", "S1", "S2"], "label": ["tumor", "normal", "tumor"], "patient": ["P2", "P1", "P1"]})
# Expected matrix: rows S3, S1, S2 ; columns G1, G2, G3.
EXPECTED = np.array([[3, 30, 300], [1, 10, 100], [2, 20, 200]])


def write_table_file(path: Path, frame: pd.DataFrame, *, index: bool) -> Path:
    name = str(path)
    if name.endswith(".parquet"):
        (frame.reset_index() if index else frame).to_parquet(path, index=False)
    else:
        sep = "," if name.removesuffix(".gz").endswith(".csv") else "\t"
        frame.to_csv(path, sep=sep, index=index)
    return path


def write_counts(path: Path, genes_by_samples: pd.DataFrame, orientation: str = "genes_by_samples") -> Path:
    frame = genes_by_samples
    if orientation == "samples_by_genes":
        frame = genes_by_samples.T
        frame.index.name = "sample_id"
    return write_table_file(path, frame, index=True)


@pytest.fixture
def inputs(tmp_path):
    """Valid inputs; returns a function that writes them, with optional replacements."""

    def make(counts=COUNTS, genes=GENES, sheet=SHEET, counts_name="counts.tsv", orientation="genes_by_samples"):
        c = write_counts(tmp_path / counts_name, counts, orientation)
        g = write_table_file(tmp_path / "genes.tsv", genes, index=False)
        s = write_table_file(tmp_path / "samples.csv", sheet, index=False)
        return c, g, s

    return make


@pytest.mark.parametrize("name", ["counts.tsv", "counts.csv.gz", "counts.tsv.gz", "counts.csv", "counts.parquet"])
@pytest.mark.parametrize("orientation", ["genes_by_samples", "samples_by_genes"])
def test_formats_and_orientations_give_the_same_aligned_data(inputs, name, orientation):
    c, g, s = inputs(counts_name=name, orientation=orientation)
    data = ingest(c, g, s, orientation=orientation, group_column="patient")
    np.testing.assert_array_equal(data.counts, EXPECTED)
    assert data.counts.dtype == np.uint32
    assert data.samples["sample_id"].tolist() == ["S3", "S1", "S2"]
    assert data.samples["label"].tolist() == ["tumor", "normal", "tumor"]
    assert data.samples["patient"].tolist() == ["P2", "P1", "P1"]
    assert data.genes["gene_id"].tolist() == ["G1", "G2", "G3"]
    assert data.genes["length"].tolist() == [1000.0, 2000.0, 500.0]
    assert data.genes["gene_type"].tolist() == ["protein_coding", "lncRNA", "protein_coding"]


def test_rows_follow_the_sample_sheet(inputs):
    sheet = SHEET.iloc[[2, 0, 1]].reset_index(drop=True)  # S2, S3, S1
    c, g, s = inputs(sheet=sheet)
    data = ingest(c, g, s)
    assert data.samples["sample_id"].tolist() == ["S2", "S3", "S1"]
    np.testing.assert_array_equal(data.counts, EXPECTED[[2, 0, 1]])


def test_numeric_looking_sample_ids_match(tmp_path):
    # sample ids that pandas would read as integers in the sheet but as strings in a header
    counts = COUNTS.rename(columns={"S1": "101", "S2": "102", "S3": "103"})
    sheet = SHEET.assign(sample_id=["103", "101", "102"])
    c = write_counts(tmp_path / "c.tsv", counts)
    g = write_table_file(tmp_path / "g.tsv", GENES, index=False)
    s = write_table_file(tmp_path / "s.tsv", sheet, index=False)
    data = ingest(c, g, s)
    assert data.samples["sample_id"].tolist() == ["103", "101", "102"]
    np.testing.assert_array_equal(data.counts, EXPECTED)


def test_save_and_load_round_trip(inputs, tmp_path):
    data = ingest(*inputs(), group_column="patient")
    paths = tmp_path / "c.npy", tmp_path / "g.parquet", tmp_path / "s.parquet"
    save_count_data(data, *paths)
    back = load_count_data(*paths)
    np.testing.assert_array_equal(back.counts, EXPECTED)
    assert back.counts.dtype == np.uint32
    pd.testing.assert_frame_equal(back.samples, data.samples)
    pd.testing.assert_frame_equal(back.genes, data.genes)


# --- errors ------------------------------------------------------------------------------------


def test_negative_count_names_file_sample_and_gene(inputs):
    counts = COUNTS.copy()
    counts.loc["G3", "S2"] = -5
    c, g, s = inputs(counts=counts)
    with pytest.raises(CandleInputError) as info:
        ingest(c, g, s)
    msg = str(info.value)
    assert str(c) in msg and "sample 'S2'" in msg and "gene 'G3'" in msg and "-5" in msg


def test_non_integer_count_names_sample_and_gene(inputs):
    counts = COUNTS.astype(float)
    counts.loc["G2", "S1"] = 1.5
    c, g, s = inputs(counts=counts)
    with pytest.raises(CandleInputError, match="not a non-negative integer") as info:
        ingest(c, g, s)
    msg = str(info.value)
    assert str(c) in msg and "sample 'S1'" in msg and "gene 'G2'" in msg and "1.5" in msg


def test_text_count_names_sample_and_gene(inputs):
    counts = COUNTS.astype(object)
    counts.loc["G1", "S3"] = "many"
    c, g, s = inputs(counts=counts)
    with pytest.raises(CandleInputError) as info:
        ingest(c, g, s)
    msg = str(info.value)
    assert "'many'" in msg and "sample 'S3'" in msg and "gene 'G1'" in msg


def test_missing_sample(inputs):
    sheet = pd.concat([SHEET, pd.DataFrame({"sample_id": ["S9"], "label": ["normal"], "patient": ["P9"]})])
    c, g, s = inputs(sheet=sheet)
    with pytest.raises(CandleInputError, match="have no column in the counts") as info:
        ingest(c, g, s)
    assert "S9" in str(info.value) and str(c) in str(info.value)


def test_extra_sample(inputs):
    c, g, s = inputs(sheet=SHEET[SHEET["sample_id"] != "S2"])
    with pytest.raises(CandleInputError, match="not in the sample sheet") as info:
        ingest(c, g, s)
    assert "S2" in str(info.value) and str(c) in str(info.value)


def test_duplicated_sample_id_in_sheet(inputs):
    sheet = pd.concat([SHEET, SHEET.iloc[[1]]])
    c, g, s = inputs(sheet=sheet)
    with pytest.raises(CandleInputError, match="sample id 'S1' appears more than once") as info:
        ingest(c, g, s)
    assert str(s) in str(info.value)


def test_duplicated_sample_id_in_counts(inputs):
    counts = pd.concat([COUNTS, COUNTS[["S1"]]], axis=1)  # two S1 columns -> two S1 rows when transposed
    c, g, s = inputs(counts=counts, orientation="samples_by_genes")
    with pytest.raises(CandleInputError, match="sample id 'S1' appears more than once") as info:
        ingest(c, g, s, orientation="samples_by_genes")
    assert str(c) in str(info.value)


def test_gene_without_annotation(inputs):
    counts = pd.concat([COUNTS, pd.DataFrame({"S1": [1], "S2": [2], "S3": [3]}, index=["G7"])])
    c, g, s = inputs(counts=counts)
    with pytest.raises(CandleInputError, match="no annotation") as info:
        ingest(c, g, s)
    assert "G7" in str(info.value) and str(c) in str(info.value)


def test_duplicated_gene_in_annotation(inputs):
    c, g, s = inputs(genes=pd.concat([GENES, GENES.iloc[[2]]]))
    with pytest.raises(CandleInputError, match="gene id 'G3' appears more than once"):
        ingest(c, g, s)


@pytest.mark.parametrize("bad", [0, -10, "unknown"])
def test_non_positive_length_names_the_row(inputs, bad):
    genes = GENES.astype({"length": object})
    genes.loc[2, "length"] = bad  # G3: third data row, i.e. line 4 of the file after the header
    c, g, s = inputs(genes=genes)
    with pytest.raises(CandleInputError, match="lengths must be positive") as info:
        ingest(c, g, s)
    msg = str(info.value)
    assert str(g) in msg and "row 4" in msg and "'G3'" in msg


def test_missing_label_names_sample_and_row(inputs):
    sheet = SHEET.copy()
    sheet.loc[1, "label"] = None  # S1, line 3 of the file
    c, g, s = inputs(sheet=sheet)
    with pytest.raises(CandleInputError, match="sample 'S1' has no label") as info:
        ingest(c, g, s)
    msg = str(info.value)
    assert str(s) in msg and "row 3" in msg and "column label" in msg


def test_missing_column_in_sheet(inputs):
    c, g, s = inputs()
    with pytest.raises(CandleInputError, match="missing column") as info:
        ingest(c, g, s, group_column="donor")
    assert "donor" in str(info.value) and str(s) in str(info.value)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_missing_file(inputs, tmp_path, which):
    paths = list(inputs())
    paths[which] = tmp_path / "nowhere.tsv"
    with pytest.raises(CandleInputError, match="file not found") as info:
        ingest(*paths)
    assert "nowhere.tsv" in str(info.value)


def test_unknown_orientation(inputs):
    with pytest.raises(CandleInputError, match="unknown orientation 'sideways'"):
        ingest(*inputs(), orientation="sideways")


def test_unreadable_table(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    with pytest.raises(CandleInputError, match="cannot be read as a table") as info:
        read_table(bad)
    assert "bad.parquet" in str(info.value)
