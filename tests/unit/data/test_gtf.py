"""Union-exon gene lengths and gene types from a GTF; errors name the line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from candle_lib.data.gtf import read_gtf_genes
from candle_lib.data.ingest import read_gene_annotation
from candle_lib.errors import CandleInputError


def rec(feature: str, start, end, attrs: str, seq: str = "chr1") -> str:
    return "\t".join([seq, "TEST", feature, str(start), str(end), ".", "+", ".", attrs])


def gencode(gene: str, name: str, gtype: str = "protein_coding", tx: str | None = None) -> str:
    attrs = f'gene_id "{gene}"; gene_type "{gtype}"; gene_name "{name}"; level 2;'
    if tx:
        attrs = f'gene_id "{gene}"; transcript_id "{tx}"; gene_type "{gtype}"; gene_name "{name}"; level 2;'
    return attrs


def write(path: Path, lines: list[str]) -> Path:
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


# Hand-computed union lengths (1-based inclusive coordinates):
# A: T1 1..10, 21..30; T2 5..15 (overlaps 1..10), 31..40 (adjacent to 21..30)
#    union 1..15 (15) + 21..40 (20) = 35. A CDS 1..1000 must not count.
# B: 100..200 (101), 120..150 nested inside, 300..300 (1)          -> 102
# C: disjoint, listed out of order: 3000..3000 (1), 1000..1009 (10), 2000..2099 (100) -> 111
# D: the same exon 50..59 in two transcripts                          -> 10
# E: one exon, lncRNA                                                -> 7 (10..16)
GENCODE_LINES = [
    "##description: test annotation",
    "##format: gtf",
    rec("gene", 1, 40, gencode("ENSG_A.1", "ALPHA")),
    rec("transcript", 1, 30, gencode("ENSG_A.1", "ALPHA", tx="TA1")),
    rec("exon", 1, 10, gencode("ENSG_A.1", "ALPHA", tx="TA1")),
    rec("CDS", 1, 1000, gencode("ENSG_A.1", "ALPHA", tx="TA1")),
    rec("exon", 21, 30, gencode("ENSG_A.1", "ALPHA", tx="TA1")),
    rec("transcript", 5, 40, gencode("ENSG_A.1", "ALPHA", tx="TA2")),
    rec("exon", 5, 15, gencode("ENSG_A.1", "ALPHA", tx="TA2")),
    rec("exon", 31, 40, gencode("ENSG_A.1", "ALPHA", tx="TA2")),
    rec("start_codon", 5, 7, gencode("ENSG_A.1", "ALPHA", tx="TA2")),
    rec("gene", 100, 300, gencode("ENSG_B.2", "BETA")),
    rec("exon", 100, 200, gencode("ENSG_B.2", "BETA", tx="TB1")),
    rec("exon", 120, 150, gencode("ENSG_B.2", "BETA", tx="TB2")),
    rec("exon", 300, 300, gencode("ENSG_B.2", "BETA", tx="TB2")),
    rec("gene", 1000, 3000, gencode("ENSG_C.3", "GAMMA")),
    rec("exon", 3000, 3000, gencode("ENSG_C.3", "GAMMA", tx="TC1")),
    rec("exon", 1000, 1009, gencode("ENSG_C.3", "GAMMA", tx="TC1")),
    rec("exon", 2000, 2099, gencode("ENSG_C.3", "GAMMA", tx="TC2")),
    rec("gene", 50, 59, gencode("ENSG_D.4", "DELTA")),
    rec("exon", 50, 59, gencode("ENSG_D.4", "DELTA", tx="TD1")),
    rec("exon", 50, 59, gencode("ENSG_D.4", "DELTA", tx="TD2")),
    rec("gene", 10, 16, gencode("ENSG_E.5", "EPSILON", "lncRNA"), seq="chr2"),
    rec("exon", 10, 16, gencode("ENSG_E.5", "EPSILON", "lncRNA", tx="TE1"), seq="chr2"),
]
EXPECTED = pd.DataFrame(
    {
        "gene_id": ["ENSG_A.1", "ENSG_B.2", "ENSG_C.3", "ENSG_D.4", "ENSG_E.5"],
        "gene_name": ["ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON"],
        "gene_type": ["protein_coding", "protein_coding", "protein_coding", "protein_coding", "lncRNA"],
        "length": [35, 102, 111, 10, 7],
    }
)


def as_lists(frame: pd.DataFrame) -> dict:
    return {c: frame[c].tolist() for c in frame.columns}


@pytest.mark.parametrize("name", ["genes.gtf", "genes.gtf.gz"])
def test_union_exon_lengths_overlapping_nested_adjacent_disjoint(tmp_path, name):
    genes = read_gtf_genes(write(tmp_path / name, GENCODE_LINES))
    assert list(genes.columns) == ["gene_id", "gene_name", "gene_type", "length"]
    assert as_lists(genes) == as_lists(EXPECTED)


def test_single_base_exon_has_length_one_and_touching_exons_merge(tmp_path):
    lines = [
        rec("gene", 7, 7, 'gene_id "G1";'),
        rec("exon", 7, 7, 'gene_id "G1"; transcript_id "T1";'),
        rec("gene", 1, 20, 'gene_id "G2";'),
        rec("exon", 1, 10, 'gene_id "G2"; transcript_id "T1";'),
        rec("exon", 11, 20, 'gene_id "G2"; transcript_id "T2";'),  # touches 1..10: 1..20 = 20
        rec("exon", 2, 19, 'gene_id "G2"; transcript_id "T3";'),  # inside the union
    ]
    genes = read_gtf_genes(write(tmp_path / "g.gtf", lines))
    assert genes["length"].tolist() == [1, 20]


def test_exons_of_one_gene_on_two_sequences_do_not_merge(tmp_path):
    # a pseudo-autosomal gene under one id on chrX and chrY: 10 + 10 bases, not 10
    lines = [
        rec("gene", 1, 10, 'gene_id "PAR";', seq="chrX"),
        rec("exon", 1, 10, 'gene_id "PAR"; transcript_id "T1";', seq="chrX"),
        rec("exon", 1, 10, 'gene_id "PAR"; transcript_id "T2";', seq="chrY"),
    ]
    assert read_gtf_genes(write(tmp_path / "g.gtf", lines))["length"].tolist() == [20]


def test_ensembl_gene_biotype(tmp_path):
    attrs = 'gene_id "ENSG9"; gene_version "3"; gene_name "NINE"; gene_source "ensembl"; gene_biotype "{t}";'
    lines = [
        rec("gene", 1, 100, attrs.format(t="lncRNA")),
        rec("exon", 1, 100, attrs.format(t="lncRNA") + ' transcript_id "T9";'),
        rec("gene", 1, 4, attrs.replace("ENSG9", "ENSG8").replace("NINE", "EIGHT").format(t="protein_coding")),
        rec("exon", 1, 4, attrs.replace("ENSG9", "ENSG8").replace("NINE", "EIGHT").format(t="protein_coding")),
    ]
    genes = read_gtf_genes(write(tmp_path / "e.gtf", lines))
    assert as_lists(genes) == {
        "gene_id": ["ENSG9", "ENSG8"],
        "gene_name": ["NINE", "EIGHT"],
        "gene_type": ["lncRNA", "protein_coding"],
        "length": [100, 4],
    }


def test_no_gene_type_attribute_means_no_gene_type_column(tmp_path):
    lines = [
        rec("gene", 1, 100, 'gene_id "G1"; gene_name "ONE";'),
        rec("exon", 1, 30, 'gene_id "G1"; transcript_id "T1";'),
        rec("gene", 1, 100, 'gene_id "G2";'),  # no gene_name either: the id stands in
        rec("exon", 11, 15, 'gene_id "G2"; transcript_id "T2";'),
    ]
    genes = read_gtf_genes(write(tmp_path / "n.gtf", lines))
    assert as_lists(genes) == {"gene_id": ["G1", "G2"], "gene_name": ["ONE", "G2"], "length": [30, 5]}


def test_genes_without_gene_records_come_from_their_exons(tmp_path):
    lines = [
        rec("exon", 1, 10, 'gene_id "X1"; transcript_id "T1"; gene_name "XONE"; gene_type "miRNA";'),
        rec("exon", 5, 12, 'gene_id "X1"; transcript_id "T2"; gene_name "XONE"; gene_type "miRNA";'),
        rec("exon", 100, 109, 'gene_id "X2"; transcript_id "T3"; gene_name "XTWO"; gene_type "protein_coding";'),
    ]
    genes = read_gtf_genes(write(tmp_path / "x.gtf", lines))
    assert as_lists(genes) == {
        "gene_id": ["X1", "X2"],
        "gene_name": ["XONE", "XTWO"],
        "gene_type": ["miRNA", "protein_coding"],
        "length": [12, 10],
    }


def test_read_gene_annotation_dispatches_on_the_name(tmp_path):
    gtf = read_gene_annotation(write(tmp_path / "ann.gtf.gz", GENCODE_LINES))
    assert gtf["length"].tolist() == [35.0, 102.0, 111.0, 10.0, 7.0]
    assert gtf["length"].dtype == "float64"
    table = tmp_path / "genes.tsv"
    pd.DataFrame({"gene_id": ["G1"], "length": [120]}).to_csv(table, sep="\t", index=False)
    assert read_gene_annotation(table)["length"].tolist() == [120.0]


# --- errors ------------------------------------------------------------------------------------


def error_of(path: Path) -> str:
    with pytest.raises(CandleInputError) as info:
        read_gtf_genes(path)
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize("name", ["bad.gtf", "bad.gtf.gz"])
def test_gene_without_exons_names_gene_and_its_line(tmp_path, name):
    lines = GENCODE_LINES[:11] + [rec("gene", 500, 600, gencode("ENSG_LONELY.1", "LONELY"))] + GENCODE_LINES[11:]
    message = error_of(write(tmp_path / name, lines))
    assert "'ENSG_LONELY.1'" in message and "no exon" in message and "line 12" in message


def test_gene_without_exons_counts_comment_and_blank_lines(tmp_path):
    lines = [
        "#!genome-build TEST",
        rec("gene", 1, 10, 'gene_id "G1";'),
        "",
        "# a comment in the middle",
        rec("exon", 1, 10, 'gene_id "G1";'),
        rec("gene", 20, 30, 'gene_id "G2";'),  # line 6
    ]
    message = error_of(write(tmp_path / "g.gtf", lines))
    assert "'G2'" in message and "line 6" in message


def test_line_with_too_few_fields_names_the_line(tmp_path):
    lines = GENCODE_LINES[:6] + ["chr1\tTEST\texon\t1\t10\t.\t+\t."] + GENCODE_LINES[6:]  # 8 fields, line 7
    message = error_of(write(tmp_path / "short.gtf", lines))
    assert "line 7" in message and "8 tab-separated" in message


def test_line_with_too_many_fields_names_the_line(tmp_path):
    lines = GENCODE_LINES[:4] + [GENCODE_LINES[4] + "\textra"] + GENCODE_LINES[5:]  # line 5
    message = error_of(write(tmp_path / "long.gtf.gz", lines))
    assert "line 5" in message and "10 tab-separated" in message


@pytest.mark.parametrize("column, value", [("start", "abc"), ("end", "12.5"), ("start", "")])
def test_non_integer_coordinate_names_line_and_column(tmp_path, column, value):
    start, end = (value, 40) if column == "start" else (1, value)
    lines = GENCODE_LINES[:8] + [rec("exon", start, end, gencode("ENSG_A.1", "ALPHA", tx="TA3"))] + GENCODE_LINES[8:]
    message = error_of(write(tmp_path / "coord.gtf", lines))
    assert "line 9" in message and f"column {column}" in message and repr(value) in message


def test_end_before_start_names_the_line(tmp_path):
    lines = GENCODE_LINES[:3] + [rec("exon", 20, 10, gencode("ENSG_A.1", "ALPHA", tx="TA3"))] + GENCODE_LINES[3:]
    message = error_of(write(tmp_path / "back.gtf", lines))
    assert "line 4" in message and "end is before start" in message


def test_exon_without_gene_id_names_the_line(tmp_path):
    lines = GENCODE_LINES[:5] + [rec("exon", 1, 10, 'transcript_id "T0";')] + GENCODE_LINES[5:]
    message = error_of(write(tmp_path / "noid.gtf", lines))
    assert "line 6" in message and "gene_id" in message


def test_duplicate_gene_record_names_both_lines(tmp_path):
    lines = GENCODE_LINES + [rec("gene", 1, 40, gencode("ENSG_A.1", "ALPHA"))]  # line 25
    message = error_of(write(tmp_path / "dup.gtf", lines))
    assert "'ENSG_A.1'" in message and "lines 3, 25" in message


def test_empty_and_comment_only_files(tmp_path):
    empty = tmp_path / "empty.gtf"
    empty.write_text("")
    assert "file is empty" in error_of(empty)
    comments = write(tmp_path / "comments.gtf", ["##format: gtf", "# nothing else"])
    assert "no GTF records" in error_of(comments)


def test_missing_file(tmp_path):
    assert "file not found" in error_of(tmp_path / "absent.gtf")
