"""Reading and validating counts, gene annotation and sample sheet into one aligned CountData."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.ingest import (
    ingest,
    ingest_matrix,
    load_count_data,
    read_table,
    save_count_data,
)
from candle_lib.errors import CandleInputError

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
SHEET = pd.DataFrame(
    {"sample_id": ["S3", "S1", "S2"], "label": ["tumor", "normal", "tumor"], "patient": ["P2", "P1", "P1"]}
)
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


# --- more bad input: every message names the file and the row/column/id --------------------------


def message_of(*args, call=ingest, **kwargs) -> str:
    with pytest.raises(CandleInputError) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_empty_file(inputs, tmp_path, which):
    paths = list(inputs())
    empty = tmp_path / ["empty_counts.tsv", "empty_genes.tsv", "empty_samples.csv"][which]
    empty.write_text("")
    paths[which] = empty
    message = message_of(*paths)
    assert "file is empty" in message and str(empty) in message


def test_empty_gzipped_counts(inputs, tmp_path):
    c, g, s = inputs()
    empty = tmp_path / "counts.tsv.gz"
    with gzip.open(empty, "wt"):
        pass
    message = message_of(empty, g, s)
    assert "file is empty" in message and str(empty) in message


def test_header_only_counts(inputs, tmp_path):
    c, g, s = inputs()
    header_only = tmp_path / "header.tsv"
    header_only.write_text("gene_id\tS1\tS2\tS3\n")
    message = message_of(header_only, g, s)
    assert str(header_only) in message and "no data" in message


def test_nan_count_names_sample_and_gene(inputs):
    counts = COUNTS.astype(float)
    counts.loc["G3", "S1"] = np.nan  # an empty cell in the file
    c, g, s = inputs(counts=counts)
    message = message_of(c, g, s)
    assert str(c) in message and "NaN" in message and "sample 'S1'" in message and "gene 'G3'" in message


def test_inf_count_names_sample_and_gene(inputs):
    counts = COUNTS.astype(float)
    counts.loc["G1", "S2"] = np.inf
    c, g, s = inputs(counts=counts)
    message = message_of(c, g, s)
    assert str(c) in message and "inf" in message and "sample 'S2'" in message and "gene 'G1'" in message


def test_negative_and_fractional_counts_say_why(inputs):
    counts = COUNTS.copy()
    counts.loc["G1", "S1"] = -1
    assert "negative" in message_of(*inputs(counts=counts))
    counts = COUNTS.astype(float)
    counts.loc["G1", "S1"] = 2.5
    message = message_of(*inputs(counts=counts))
    assert "fractional" in message and "sample 'S1'" in message and "gene 'G1'" in message


def test_duplicated_sample_in_counts_header(inputs, tmp_path):
    counts = tmp_path / "dup.tsv"
    counts.write_text("gene_id\tS1\tS2\tS3\tS1\nG1\t1\t2\t3\t4\nG2\t1\t2\t3\t4\nG3\t1\t2\t3\t4\n")
    _, g, s = inputs()
    message = message_of(counts, g, s)
    assert (
        str(counts) in message and "sample id 'S1' appears more than once" in message and "columns 2 and 5" in message
    )


def test_duplicated_gene_in_counts(inputs):
    counts = pd.concat([COUNTS, COUNTS.iloc[[0]]])  # G2 twice
    c, g, s = inputs(counts=counts)
    message = message_of(c, g, s)
    assert str(c) in message and "gene id 'G2' appears more than once" in message


def test_gene_with_empty_length_names_the_row(inputs):
    genes = GENES.astype({"length": object})
    genes.loc[1, "length"] = None  # G2, line 3
    c, g, s = inputs(genes=genes)
    message = message_of(c, g, s)
    assert str(g) in message and "row 3" in message and "'G2'" in message and "no length" in message


def test_infinite_length_is_rejected(inputs):
    genes = GENES.astype({"length": float})
    genes.loc[0, "length"] = np.inf
    c, g, s = inputs(genes=genes)
    message = message_of(c, g, s)
    assert str(g) in message and "row 2" in message and "'G1'" in message


def test_gene_with_empty_id_names_the_row(inputs):
    genes = GENES.copy()
    genes.loc[3, "gene_id"] = None
    c, g, s = inputs(genes=genes)
    message = message_of(c, g, s)
    assert str(g) in message and "row 5" in message and "gene id is missing" in message


def test_sample_without_id_names_the_row(inputs):
    sheet = SHEET.copy()
    sheet.loc[2, "sample_id"] = None
    c, g, s = inputs(sheet=sheet)
    message = message_of(c, g, s)
    assert str(s) in message and "row 4" in message and "sample id is missing" in message


def test_sample_without_group_names_sample_and_row(inputs):
    sheet = SHEET.copy()
    sheet.loc[0, "patient"] = None
    c, g, s = inputs(sheet=sheet)
    message = message_of(c, g, s, group_column="patient")
    assert str(s) in message and "sample 'S3' has no group" in message and "row 2" in message


def test_declared_classes_accept_and_reject(inputs):
    c, g, s = inputs()
    data = ingest(c, g, s, declared_classes=["normal", "tumor"])
    assert data.samples["label"].tolist() == ["tumor", "normal", "tumor"]
    message = message_of(c, g, s, declared_classes=["tumor", "metastasis"])
    assert str(s) in message and "sample 'S1'" in message and "'normal'" in message and "row 3" in message


def test_declared_classes_compare_as_text(tmp_path):
    c = write_counts(tmp_path / "c.tsv", COUNTS)
    g = write_table_file(tmp_path / "g.tsv", GENES, index=False)
    s = write_table_file(tmp_path / "s.tsv", SHEET.assign(label=[1, 0, 1]), index=False)
    assert ingest(c, g, s, declared_classes=[0, 1]).counts.shape == (3, 3)
    assert "sample 'S3'" in message_of(c, g, s, declared_classes=["0"])


# --- a GTF as the annotation -------------------------------------------------------------------


def gtf_line(feature, start, end, gene, gene_type):
    attrs = f'gene_id "{gene}"; gene_type "{gene_type}"; gene_name "{gene.lower()}";'
    return "\t".join(["chr1", "TEST", feature, str(start), str(end), ".", "+", ".", attrs])


def test_ingest_with_gtf_annotation(tmp_path):
    # G1: exons 1..600 and 401..1000 -> 1000; G2: 1..1000 and 1001..2000 -> 2000; G3: 1..500 -> 500
    lines = [
        gtf_line("gene", 1, 1000, "G1", "protein_coding"),
        gtf_line("exon", 1, 600, "G1", "protein_coding"),
        gtf_line("exon", 401, 1000, "G1", "protein_coding"),
        gtf_line("gene", 1, 2000, "G2", "lncRNA"),
        gtf_line("exon", 1, 1000, "G2", "lncRNA"),
        gtf_line("exon", 1001, 2000, "G2", "lncRNA"),
        gtf_line("gene", 1, 500, "G3", "protein_coding"),
        gtf_line("exon", 1, 500, "G3", "protein_coding"),
    ]
    gtf = tmp_path / "annotation.gtf.gz"
    with gzip.open(gtf, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    c = write_counts(tmp_path / "c.tsv", COUNTS)
    s = write_table_file(tmp_path / "s.csv", SHEET, index=False)
    data = ingest(c, gtf, s)
    np.testing.assert_array_equal(data.counts, EXPECTED)
    assert data.genes["gene_id"].tolist() == ["G1", "G2", "G3"]
    assert data.genes["length"].tolist() == [1000.0, 2000.0, 500.0]
    assert data.genes["gene_type"].tolist() == ["protein_coding", "lncRNA", "protein_coding"]


# --- an already-normalized matrix --------------------------------------------------------------

MATRIX = pd.DataFrame(
    {"F1": [0.5, 1.5, -2.0], "F2": [3.25, 0.0, 8.0]},
    index=pd.Index(["S1", "S2", "S3"], name="sample_id"),
)


def write_matrix(path: Path, frame: pd.DataFrame = MATRIX, orientation: str = "samples_by_genes") -> Path:
    out = frame if orientation == "samples_by_genes" else frame.T.rename_axis("feature_id")
    return write_table_file(path, out, index=True)


@pytest.mark.parametrize(
    "orientation", ["samples_by_genes", "genes_by_samples", "samples_by_features", "features_by_samples"]
)
@pytest.mark.parametrize("name", ["m.tsv", "m.csv.gz", "m.parquet"])
def test_ingest_matrix(tmp_path, orientation, name):
    layout = "genes_by_samples" if orientation in ("genes_by_samples", "features_by_samples") else "samples_by_genes"
    m = write_matrix(tmp_path / name, orientation=layout)
    s = write_table_file(tmp_path / "s.csv", SHEET, index=False)
    values, samples, features = ingest_matrix(
        m, s, orientation=orientation, id_column="sample_id", label_column="label", group_column="patient"
    )
    assert values.dtype == np.float32
    np.testing.assert_array_equal(
        values, np.array([[-2.0, 8.0], [0.5, 3.25], [1.5, 0.0]], dtype=np.float32)
    )  # S3, S1, S2
    assert samples["sample_id"].tolist() == ["S3", "S1", "S2"]
    assert samples["patient"].tolist() == ["P2", "P1", "P1"]
    assert features["feature_id"].tolist() == ["F1", "F2"]


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf"), ("high", "not a number")])
def test_ingest_matrix_rejects_non_finite_values(tmp_path, bad, word):
    frame = MATRIX.astype(object)
    frame.loc["S2", "F2"] = bad
    m = write_matrix(tmp_path / "m.tsv", frame)
    s = write_table_file(tmp_path / "s.csv", SHEET, index=False)
    message = message_of(m, s, call=ingest_matrix)
    assert str(m) in message and word in message and "sample 'S2'" in message and "feature 'F2'" in message


def test_ingest_matrix_duplicate_ids(tmp_path):
    s = write_table_file(tmp_path / "s.csv", SHEET, index=False)
    m = write_matrix(tmp_path / "dup_sample.tsv", pd.concat([MATRIX, MATRIX.iloc[[0]]]))
    assert "sample id 'S1' appears more than once" in message_of(m, s, call=ingest_matrix)
    m = tmp_path / "dup_feature.tsv"
    m.write_text("sample_id\tF1\tF2\tF1\nS1\t1\t2\t3\nS2\t1\t2\t3\nS3\t1\t2\t3\n")
    message = message_of(m, s, call=ingest_matrix)
    assert str(m) in message and "feature id 'F1' appears more than once" in message


def test_ingest_matrix_sample_sheet_alignment(tmp_path):
    m = write_matrix(tmp_path / "m.tsv")
    s = write_table_file(tmp_path / "s1.csv", SHEET[SHEET["sample_id"] != "S2"], index=False)
    message = message_of(m, s, call=ingest_matrix)
    assert str(m) in message and "not in the sample sheet" in message and "S2" in message
    extra = pd.concat([SHEET, pd.DataFrame({"sample_id": ["S9"], "label": ["normal"], "patient": ["P9"]})])
    s = write_table_file(tmp_path / "s2.csv", extra, index=False)
    message = message_of(m, s, call=ingest_matrix)
    assert str(m) in message and "no data in the matrix" in message and "S9" in message


def test_ingest_matrix_declared_classes_and_orientation(tmp_path):
    m = write_matrix(tmp_path / "m.tsv")
    s = write_table_file(tmp_path / "s.csv", SHEET, index=False)
    message = message_of(m, s, call=ingest_matrix, declared_classes=["tumor"])
    assert str(s) in message and "sample 'S1'" in message and "'normal'" in message
    assert "unknown orientation" in message_of(m, s, call=ingest_matrix, orientation="diagonal")
