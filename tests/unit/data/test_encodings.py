"""Label encodings: codebooks written out by hand, round trips, error correction, soft decoding,
and the check of labels against declared classes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.labels import (
    LABEL_ENCODINGS,
    check_labels,
    codebook,
    decode,
    encode,
    n_outputs,
)
from candle_lib.errors import CandleInputError


def words(*bits: str) -> np.ndarray:
    return np.array([[int(b) for b in w] for w in bits])


def min_distance(book: np.ndarray) -> int:
    return min(int((a != b).sum()) for a, b in itertools.combinations(book, 2))


# --- exact codebooks ---------------------------------------------------------------------------


def test_encodings_listed():
    assert LABEL_ENCODINGS == ("one_hot", "ordinal", "binary", "hamming2", "hamming3")
    assert codebook("one_hot", 5) is None
    assert codebook("ordinal", 5) is None


def test_binary_codebook_8_classes():
    expected = words("000", "001", "010", "011", "100", "101", "110", "111")
    np.testing.assert_array_equal(codebook("binary", 8), expected)


def test_hamming2_codebook_8_classes():
    expected = words("0000", "0011", "0101", "0110", "1001", "1010", "1100", "1111")
    np.testing.assert_array_equal(codebook("hamming2", 8), expected)


def test_hamming3_codebook_8_classes():
    expected = words("000000", "000111", "011001", "011110", "101010", "101101", "110011", "110100")
    np.testing.assert_array_equal(codebook("hamming3", 8), expected)


def test_small_codebooks_by_hand():
    np.testing.assert_array_equal(codebook("binary", 2), words("0", "1"))
    np.testing.assert_array_equal(codebook("binary", 3), words("00", "01", "10"))
    np.testing.assert_array_equal(codebook("hamming2", 2), words("00", "11"))
    np.testing.assert_array_equal(codebook("hamming2", 3), words("000", "011", "101"))
    # 2 classes: one data bit, r = 2 parity bits (both copies of it): the repetition code
    np.testing.assert_array_equal(codebook("hamming3", 2), words("000", "111"))
    # 4 classes: data a b, r = 3; a gets pattern 3 (parities 0, 1), b gets 5 (parities 0, 2);
    # p0 = a^b after b, p1 = a after a, p2 = b after b -> a p1 b p0 p2
    np.testing.assert_array_equal(codebook("hamming3", 4), words("00000", "00111", "11010", "11101"))


# Bits per codeword, by hand: binary m = ceil(log2 n); hamming2 m + 1; hamming3 m + r with r the
# smallest number such that 2**r - 1 - r >= m (m=1 -> r=2, m=2..4 -> r=3, m=5..11 -> r=4).
WIDTHS = {
    # n: (binary, hamming2, hamming3)
    2: (1, 2, 3),
    3: (2, 3, 5),
    4: (2, 3, 5),
    5: (3, 4, 6),
    8: (3, 4, 6),
    9: (4, 5, 7),
    16: (4, 5, 7),
    17: (5, 6, 9),
    32: (5, 6, 9),
    33: (6, 7, 10),
    40: (6, 7, 10),
    64: (6, 7, 10),
    65: (7, 8, 11),
    2048: (11, 12, 15),
    2049: (12, 13, 17),
}


@pytest.mark.parametrize("n", sorted(WIDTHS))
def test_bit_widths(n):
    for encoding, width in zip(("binary", "hamming2", "hamming3"), WIDTHS[n]):
        assert codebook(encoding, n).shape == (n, width), encoding
        assert n_outputs(encoding, n) == width
    assert n_outputs("one_hot", n) == n
    assert n_outputs("ordinal", n) == 1


@pytest.mark.parametrize("n", range(2, 41))
def test_binary_and_hamming2_general_definitions(n):
    m = int(np.ceil(np.log2(n)))
    # binary: row c is c in base 2, most significant bit first
    expected = np.array([[int(b) for b in format(c, f"0{m}b")] for c in range(n)])
    np.testing.assert_array_equal(codebook("binary", n), expected)
    # hamming2: the first n words of length m + 1 with an even number of ones, in increasing order
    even = [format(w, f"0{m + 1}b") for w in range(2 ** (m + 1)) if format(w, "b").count("1") % 2 == 0][:n]
    np.testing.assert_array_equal(codebook("hamming2", n), words(*even))


@pytest.mark.parametrize("n", range(2, 65))
def test_minimum_distances(n):
    assert min_distance(codebook("binary", n)) >= 1
    assert min_distance(codebook("hamming2", n)) >= 2
    assert min_distance(codebook("hamming3", n)) >= 3


def test_codebooks_are_prefixes_of_the_full_code():
    # n classes use the first n codewords of the 2**m-word code, so adding a class with the same
    # bit width does not change the codes of the others.
    for encoding in ("binary", "hamming2", "hamming3"):
        for n in range(2, 33):
            m = int(np.ceil(np.log2(n)))
            np.testing.assert_array_equal(codebook(encoding, n), codebook(encoding, 2**m)[:n])


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", LABEL_ENCODINGS)
@pytest.mark.parametrize("n", range(2, 41))
def test_round_trip(encoding, n):
    codes = np.concatenate([np.arange(n), np.random.default_rng(n).integers(0, n, 50)])
    targets = encode(encoding, codes, n)
    assert targets.dtype == np.float32
    assert targets.shape == (len(codes), n_outputs(encoding, n))
    decoded = decode(encoding, targets, n)
    assert decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, codes)
    for distance in ("l1", "l2", "hamming"):
        np.testing.assert_array_equal(decode(encoding, targets, n, distance=distance), codes)


def test_encode_targets_exact():
    codes = np.array([2, 0, 1])
    np.testing.assert_array_equal(encode("one_hot", codes, 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(encode("ordinal", codes, 3), [[2.0], [0.0], [1.0]])
    np.testing.assert_array_equal(encode("binary", codes, 3), [[1, 0], [0, 0], [0, 1]])
    np.testing.assert_array_equal(encode("hamming2", codes, 3), [[1, 0, 1], [0, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(encode("hamming3", np.array([5]), 8), [[1, 0, 1, 1, 0, 1]])


# --- error correction --------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(2, 17))
def test_hamming3_corrects_every_single_bit_error(n):
    book = codebook("hamming3", n)
    for code in range(n):
        for bit in range(book.shape[1]):
            received = book[code].astype(np.float32).copy()
            received[bit] = 1 - received[bit]
            for distance in ("l1", "l2", "hamming"):
                assert decode("hamming3", received[None, :], n, distance=distance)[0] == code, (code, bit)


def test_hamming3_single_error_by_hand():
    # class 5 = 101101; flip bit 1 -> 111101, at distance 1 from 101101 and >= 2 from the others
    assert decode("hamming3", np.array([[1, 1, 1, 1, 0, 1]]), 8)[0] == 5
    # class 0 = 000000; flip the last bit -> 000001
    assert decode("hamming3", np.array([[0, 0, 0, 0, 0, 1]]), 8)[0] == 0


def test_hamming2_single_error_never_gives_another_codeword():
    book = codebook("hamming2", 8)
    valid = {tuple(w) for w in book}
    for w in book:
        for bit in range(4):
            flipped = w.copy()
            flipped[bit] ^= 1
            assert tuple(flipped) not in valid


# --- soft outputs and ties ---------------------------------------------------------------------


def test_soft_decoding_binary_by_hand():
    # 4 classes, codewords 00 01 10 11; y = (0.4, 0.7)
    # L1: 00 -> 1.1, 01 -> 0.4 + 0.3 = 0.7, 10 -> 0.6 + 0.7 = 1.3, 11 -> 0.6 + 0.3 = 0.9 -> class 1
    # L2: 00 -> 0.65, 01 -> 0.25, 10 -> 0.85, 11 -> 0.45 -> class 1
    y = np.array([[0.4, 0.7]])
    assert decode("binary", y, 4, distance="l1")[0] == 1
    assert decode("binary", y, 4, distance="l2")[0] == 1


def test_soft_decoding_uses_the_soft_information():
    # hamming2, 4 classes: 000 011 101 110. y = (0.9, 0.9, 0.55) -> hard bits 111, at Hamming
    # distance 1 from 011, 101 and 110: a tie, which goes to the lowest code, 1.
    # L1: 000 -> 2.35, 011 -> 0.9 + 0.1 + 0.45 = 1.45, 101 -> 0.1 + 0.9 + 0.45 = 1.45,
    #     110 -> 0.1 + 0.1 + 0.55 = 0.75 -> class 3.
    y = np.array([[0.9, 0.9, 0.55]])
    assert decode("hamming2", y, 4, distance="hamming")[0] == 1
    assert decode("hamming2", y, 4, distance="l1")[0] == 3
    assert decode("hamming2", y, 4, distance="l2")[0] == 3
    assert decode("hamming2", y, 4)[0] == 3  # default: l1


def test_ties_go_to_the_lowest_code_and_invalid_words_are_never_returned():
    # binary, 4 classes: y = (0.5, 0.5) is at L1 distance 1.0 from every codeword -> class 0
    assert decode("binary", np.array([[0.5, 0.5]]), 4)[0] == 0
    # binary, 3 classes: codewords 00 01 10 (11 is not a class). y = (0.9, 0.9):
    # L1 to 00 = 1.8, to 01 = 0.9 + 0.1 = 1.0, to 10 = 0.1 + 0.9 = 1.0 -> tie -> class 1 (not 3)
    assert decode("binary", np.array([[0.9, 0.9]]), 3)[0] == 1
    assert decode("binary", np.array([[1.0, 1.0]]), 3, distance="hamming")[0] == 1
    # one_hot: equal scores -> the first
    np.testing.assert_array_equal(decode("one_hot", np.array([[0.2, 0.4, 0.4], [0.3, 0.3, 0.3]]), 3), [1, 0])


def test_l1_and_l2_agree_on_outputs_in_unit_interval():
    rng = np.random.default_rng(0)
    for encoding in ("binary", "hamming2", "hamming3"):
        for n in (3, 8, 13, 40):
            book = codebook(encoding, n)
            y = rng.uniform(0, 1, (200, book.shape[1]))
            l1 = decode(encoding, y, n, distance="l1")
            l2 = decode(encoding, y, n, distance="l2")
            np.testing.assert_array_equal(l1, l2)
            # independent brute force: nearest codeword in L1, first on ties
            expected = [
                min(range(n), key=lambda c: (sum(abs(yi - wi) for yi, wi in zip(row, book[c])), c)) for row in y
            ]
            np.testing.assert_array_equal(l1, expected)


def test_ordinal_decoding():
    # ceil(y - 1/2), clipped to [0, n-1]: halves go down
    y = np.array([-0.3, 0.49, 0.5, 0.51, 1.5, 1.51, 2.7, 9.0])
    np.testing.assert_array_equal(decode("ordinal", y, 3), [0, 0, 0, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(decode("ordinal", y[:, None], 3), [0, 0, 0, 1, 1, 2, 2, 2])
    # an (N, n) score matrix (e.g. a softmax over codes) -> argmax
    np.testing.assert_array_equal(decode("ordinal", np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]]), 3), [1, 0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown label encoding 'gray'"):
        encode("gray", np.array([0]), 2)
    with pytest.raises(ValueError, match=r"integers in \[0, 2\]"):
        encode("binary", np.array([3]), 3)
    with pytest.raises(ValueError, match=r"integers in \[0, 2\]"):
        encode("one_hot", np.array([-1]), 3)
    with pytest.raises(ValueError, match=r"shape \(N, 6\)"):
        decode("hamming3", np.zeros((2, 5)), 8)
    with pytest.raises(ValueError, match="unknown distance"):
        decode("binary", np.zeros((2, 3)), 8, distance="cosine")


# --- labels against declared classes -----------------------------------------------------------


def test_check_labels_accepts_declared_labels():
    assert check_labels(["tumor", "normal", "tumor"], ["normal", "tumor", "metastatic"], "samples.csv") is None
    assert check_labels([1, 2, 1], ["1", "2"]) is None  # compared as strings


def test_check_labels_names_the_first_bad_sample_and_row():
    labels = ["tumor", "normal", "benign", "tumor", "Tumor"]
    ids = ["S1", "S2", "S3", "S4", "S5"]
    with pytest.raises(CandleInputError) as info:
        check_labels(labels, ["normal", "tumor"], "data/samples.csv", sample_ids=ids)
    message = str(info.value)
    assert message.startswith("data/samples.csv: sample 'S3' (data row 3): label 'benign' is not one of")
    assert "['normal', 'tumor']" in message
    assert "2 rows in all have undeclared labels ('benign', 'Tumor')" in message
    assert info.value.source == "data/samples.csv"


def test_check_labels_without_ids_names_the_row():
    with pytest.raises(
        CandleInputError, match=r"^labels\.txt: data row 2: label 'x' is not one of the declared classes \['a', 'b'\]$"
    ):
        check_labels(["a", "x", "b"], ["a", "b"], "labels.txt")


def test_check_labels_series_index_gives_the_sample_and_missing_label():
    series = pd.Series(["a", None, "b"], index=["P1", "P2", "P3"])
    with pytest.raises(CandleInputError, match=r"sample 'P2' \(data row 2\): label <missing> is not one of"):
        check_labels(series, ["a", "b"], "sheet.tsv")
    # a default RangeIndex is not taken for sample ids
    with pytest.raises(CandleInputError, match=r"sheet\.tsv: data row 3: label <missing>"):
        check_labels(pd.Series(["a", "b", np.nan]), ["a", "b"], "sheet.tsv")
