"""Normalizations on a hand-computed 2-sample x 3-gene example.

Counts (samples x genes), gene lengths and types:

            g1    g2    g3
    A      100   300    50
    B        0   200   100
    length 1000  2000   500
    type    pc    pc   lncRNA

Every expected number below is worked out in the comment beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from candle_lib.data.normalize import cpm, fpkm, fpkm_uq, normalize, tpm, transform
from candle_lib.errors import CandleInputError

COUNTS = np.array([[100, 300, 50], [0, 200, 100]], dtype=np.uint32)
LENGTHS = np.array([1000, 2000, 500])
PROTEIN_CODING = np.array([True, True, False])
SAMPLES = np.array(["A", "B"])


def test_fpkm_hand_example():
    # RC_pc(A) = 100 + 300 = 400 ; RC_pc(B) = 0 + 200 = 200 (g3 is not protein-coding)
    # A: 100e9/(400*1000) = 250000 ; 300e9/(400*2000) = 375000 ; 50e9/(400*500) = 250000
    # B: 0                         ; 200e9/(200*2000) = 500000 ; 100e9/(200*500) = 1000000
    expected = np.array([[250_000.0, 375_000.0, 250_000.0], [0.0, 500_000.0, 1_000_000.0]])
    np.testing.assert_allclose(fpkm(COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES), expected, rtol=1e-12)


def test_fpkm_uq_hand_example_zero_counts_included():
    # 75th percentile over the protein-coding genes (g1, g2), linear interpolation:
    # with 2 values sorted [a, b] the position is 0.75 * (2 - 1) = 0.75 -> a + 0.75 (b - a).
    # A: [100, 300] -> 100 + 0.75 * 200 = 250
    # B: [0, 200]   ->   0 + 0.75 * 200 = 150 (the zero counts; without it the quartile would be 200)
    # A: 100e9/(250*1000) = 400000 ; 300e9/(250*2000) = 600000 ; 50e9/(250*500) = 400000
    # B: 0 ; 200e9/(150*2000) = 2e6/3 ; 100e9/(150*500) = 4e6/3
    expected = np.array([[400_000.0, 600_000.0, 400_000.0], [0.0, 2e6 / 3, 4e6 / 3]])
    np.testing.assert_allclose(fpkm_uq(COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES), expected, rtol=1e-12)


def test_tpm_hand_example():
    # rates A: 100/1000 = 0.1, 300/2000 = 0.15, 50/500 = 0.1 ; sum 0.35
    #   -> 0.1/0.35 * 1e6 = 2e6/7, 0.15/0.35 * 1e6 = 3e6/7, 2e6/7
    # rates B: 0, 200/2000 = 0.1, 100/500 = 0.2 ; sum 0.3 -> 0, 1e6/3, 2e6/3
    # (TPM uses every gene, whatever its type)
    expected = np.array([[2e6 / 7, 3e6 / 7, 2e6 / 7], [0.0, 1e6 / 3, 2e6 / 3]])
    got = tpm(COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), [1e6, 1e6], rtol=1e-12)


def test_cpm_hand_example():
    # totals A = 450, B = 300
    # A: 100/450 * 1e6 = 2e6/9, 300/450 * 1e6 = 2e6/3, 50/450 * 1e6 = 1e6/9
    # B: 0, 200/300 * 1e6 = 2e6/3, 100/300 * 1e6 = 1e6/3
    expected = np.array([[2e6 / 9, 2e6 / 3, 1e6 / 9], [0.0, 2e6 / 3, 1e6 / 3]])
    np.testing.assert_allclose(cpm(COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES), expected, rtol=1e-12)


def test_normalize_dispatches_to_each_method():
    # the same hand values through the dispatcher
    np.testing.assert_allclose(
        normalize("fpkm", COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)[0], [250_000.0, 375_000.0, 250_000.0]
    )
    np.testing.assert_allclose(
        normalize("fpkm_uq", COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)[0], [400_000.0, 600_000.0, 400_000.0]
    )
    np.testing.assert_allclose(normalize("tpm", COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)[1], [0.0, 1e6 / 3, 2e6 / 3])
    np.testing.assert_allclose(normalize("cpm", COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)[1], [0.0, 2e6 / 3, 1e6 / 3])
    raw = normalize("none", COUNTS, LENGTHS, PROTEIN_CODING, SAMPLES)
    assert raw.dtype == np.float64
    np.testing.assert_array_equal(raw, [[100.0, 300.0, 50.0], [0.0, 200.0, 100.0]])


def test_no_gene_types_means_all_protein_coding():
    # FPKM, RC_pc = all reads: A = 450, B = 300
    # A: 100e9/(450*1000) = 2e6/9 ; 300e9/(450*2000) = 1e6/3 ; 50e9/(450*500) = 2e6/9
    # B: 0 ; 200e9/(300*2000) = 1e6/3 ; 100e9/(300*500) = 2e6/3
    expected_fpkm = np.array([[2e6 / 9, 1e6 / 3, 2e6 / 9], [0.0, 1e6 / 3, 2e6 / 3]])
    np.testing.assert_allclose(fpkm(COUNTS, LENGTHS), expected_fpkm, rtol=1e-12)
    np.testing.assert_allclose(normalize("fpkm", COUNTS, LENGTHS, None, SAMPLES), expected_fpkm, rtol=1e-12)
    # FPKM-UQ: 3 values, position 0.75 * 2 = 1.5
    # A sorted [50, 100, 300] -> 100 + 0.5 * 200 = 200 ; B sorted [0, 100, 200] -> 100 + 0.5 * 100 = 150
    # A: 100e9/(200*1000) = 5e5 ; 300e9/(200*2000) = 7.5e5 ; 50e9/(200*500) = 5e5
    # B: 0 ; 200e9/(150*2000) = 2e6/3 ; 100e9/(150*500) = 4e6/3
    expected_uq = np.array([[5e5, 7.5e5, 5e5], [0.0, 2e6 / 3, 4e6 / 3]])
    np.testing.assert_allclose(fpkm_uq(COUNTS, LENGTHS), expected_uq, rtol=1e-12)
    # all-True mask gives the same as no mask
    np.testing.assert_allclose(fpkm_uq(COUNTS, LENGTHS, np.ones(3, bool)), expected_uq, rtol=1e-12)


def test_zero_upper_quartile_names_the_sample():
    # sample "B" has protein-coding counts [0, 0, 0, 0, 9]: the 75th percentile sits at position
    # 0.75 * 4 = 3, which is a zero -> FPKM-UQ is undefined for B.
    counts = np.array([[5, 6, 7, 8, 9], [0, 0, 0, 0, 9]])
    lengths = np.full(5, 1000)
    with pytest.raises(CandleInputError, match="upper-quartile") as info:
        fpkm_uq(counts, lengths, None, np.array(["A", "B"]))
    assert "'B'" in str(info.value)
    assert "'A'" not in str(info.value)


def test_zero_upper_quartile_from_non_protein_coding_mask():
    # B's only reads are on a non-protein-coding gene -> q75 over [0, 0] = 0
    counts = np.array([[10, 20, 30], [0, 0, 30]])
    with pytest.raises(CandleInputError, match="'sB'"):
        normalize("fpkm_uq", counts, [1, 1, 1], [True, True, False], np.array(["sA", "sB"]))
    # and FPKM: B's protein-coding total is 0
    with pytest.raises(CandleInputError, match="'sB'"):
        normalize("fpkm", counts, [1, 1, 1], [True, True, False], np.array(["sA", "sB"]))


def test_zero_total_without_sample_ids_names_the_row():
    with pytest.raises(CandleInputError, match="row 1"):
        cpm(np.array([[1, 2], [0, 0]]))
    with pytest.raises(CandleInputError, match="row 0"):
        tpm(np.array([[0, 0], [1, 2]]), [10, 10])


def test_no_protein_coding_gene_is_an_error():
    with pytest.raises(CandleInputError, match="protein-coding"):
        fpkm(COUNTS, LENGTHS, np.zeros(3, bool))


def test_unknown_methods_are_errors():
    with pytest.raises(CandleInputError, match="unknown normalization 'rpkm'"):
        normalize("rpkm", COUNTS, LENGTHS)
    with pytest.raises(CandleInputError, match="unknown transform 'log10'"):
        transform("log10", np.zeros(2))


def test_log2p1_transform():
    # log2(0+1) = 0, log2(1+1) = 1, log2(3+1) = 2, log2(7+1) = 3
    np.testing.assert_array_equal(transform("log2p1", np.array([0.0, 1.0, 3.0])), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(transform("log2p1", np.array([[7.0, 15.0]])), [[3.0, 4.0]])
    values = np.array([0.5, 2.0])
    np.testing.assert_array_equal(transform("none", values), values)


@pytest.mark.parametrize("method", ["fpkm", "fpkm_uq", "tpm", "cpm", "none"])
@pytest.mark.parametrize("transform_name", ["log2p1", "none"])
def test_blockwise_float32_equals_the_whole_matrix_form_bit_for_bit(method, transform_name):
    from candle_lib.data.normalize import BLOCK_ROWS, normalize_to_float32

    rng = np.random.default_rng(11)
    counts = rng.negative_binomial(2, 0.01, size=(2 * BLOCK_ROWS + 5, 300))
    lengths = rng.integers(200, 5000, 300).astype(float)
    protein_coding = rng.random(300) < 0.6
    expected = transform(transform_name, normalize(method, counts, lengths, protein_coding)).astype(np.float32)
    got = normalize_to_float32(method, transform_name, counts, lengths, protein_coding)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8, 101])
def test_upper_quartiles_equal_numpy_percentile(width):
    from candle_lib.data.normalize import upper_quartiles

    values = np.random.default_rng(width).integers(0, 50, size=(9, width)).astype(np.float64)
    np.testing.assert_array_equal(upper_quartiles(values), np.percentile(values, 75, axis=1))


@pytest.mark.parametrize("width", [1, 2, 3, 5, 101, 1000])
@pytest.mark.parametrize("dtype", [np.uint32, np.int64, np.uint16])
def test_upper_quartiles_of_counts_equal_numpy_percentile_above_and_below_the_histogram_cap(width, dtype, monkeypatch):
    from candle_lib.data import normalize

    monkeypatch.setattr(normalize, "COUNTING_ROWS", 7)  # several histogram passes
    rng = np.random.default_rng(width)
    small = rng.integers(0, 60, size=(20, width))
    large = rng.integers(0, 3 * normalize.COUNTING_CAP, size=(9, width))  # quartiles above the cap
    edge = np.full((2, width), normalize.COUNTING_CAP)  # exactly at the cap: partitioned
    values = np.concatenate([small, large, edge]).astype(dtype)
    np.testing.assert_array_equal(normalize.upper_quartiles(values), np.percentile(values, 75, axis=1))
