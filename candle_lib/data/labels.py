"""Label encodings. Classes are sorted, so the same labels always get the same codes.

A class *code* is the class's position in the sorted class list (0..n-1). An *encoding* turns
codes into the training targets a network predicts, and turns network outputs back into codes:

========== ======================================================= ==============================
encoding   target for class code c (n classes)                     decoded from outputs by
========== ======================================================= ==============================
one_hot    e_c, a length-n vector with a 1 at position c           argmax (first maximum)
ordinal    the number c, one column                                ceil(y - 1/2) clipped to
                                                                   [0, n-1] (or argmax for an
                                                                   n-column score matrix)
binary     c in base 2, m = ceil(log2 n) bits, most significant    nearest codeword
           bit first                                               (see :func:`decode`)
hamming2   the binary code followed by one even-parity bit: the    nearest codeword; detects any
           first n even-weight words of length m + 1               single-bit error
hamming3   a shortened Hamming code (m data bits + r parity bits,  nearest codeword; corrects any
           minimum distance 3)                                     single-bit error
========== ======================================================= ==============================

The error-correcting codes follow the "error-correcting output codes" idea (Dietterich & Bakiri,
1995): each output unit is a binary classifier, and the extra bits let the decoder recover the
class when a few units are wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from candle_lib.errors import CandleInputError

LABEL_ENCODINGS = ("one_hot", "ordinal", "binary", "hamming2", "hamming3")
CODEBOOK_ENCODINGS = ("binary", "hamming2", "hamming3")
DECODE_DISTANCES = ("l1", "l2", "hamming")


def fit_classes(labels) -> list[str]:
    return sorted({str(v) for v in labels})


def encode_ordinal(labels, classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    try:
        return np.array([index[str(v)] for v in labels], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the classes {classes}") from None


def one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(codes), n_classes), dtype=np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out


# --- checking labels against a declared class list ---------------------------------------------


def check_labels(labels, declared_classes, source: str | None = None, *, sample_ids=None) -> None:
    """Raise :class:`CandleInputError` unless every label is one of ``declared_classes``.

    Labels and classes are compared as strings (as :func:`fit_classes` does); a missing label
    (None, NaN, NA) is an undeclared label too, shown as ``<missing>``. The message names the first offending sample: by its
    id when ``sample_ids`` is given (or ``labels`` is a pandas Series with a non-default index),
    and always by its data row, counted from 1 with the header not counted. It also says how many
    rows are wrong in all and which undeclared values occur (up to five).
    """
    declared = [str(c) for c in declared_classes]
    allowed = set(declared)
    values = list(labels)
    if sample_ids is None and isinstance(labels, pd.Series) and not isinstance(labels.index, pd.RangeIndex):
        sample_ids = list(labels.index)
    ids = None if sample_ids is None else list(sample_ids)
    if ids is not None and len(ids) != len(values):
        raise ValueError(f"{len(ids)} sample ids for {len(values)} labels")
    bad = [i for i, v in enumerate(values) if str(v) not in allowed]
    if not bad:
        return
    first = bad[0]
    where = f"data row {first + 1}" if ids is None else f"sample {str(ids[first])!r} (data row {first + 1})"
    undeclared: list[str] = []
    for i in bad:
        text = _describe_label(values[i])
        if text not in undeclared:
            undeclared.append(text)
    message = f"label {_describe_label(values[first])} is not one of the declared classes {declared}"
    if len(bad) > 1:
        message += f"; {len(bad)} rows in all have undeclared labels ({', '.join(undeclared[:5])}"
        message += ", ...)" if len(undeclared) > 5 else ")"
    raise CandleInputError(message, source=source, where=where)


def _describe_label(value) -> str:
    """repr of the label as a string, or ``<missing>`` for None / NaN / NA."""
    try:
        missing = value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        missing = False
    return "<missing>" if missing else repr(str(value))


# --- codebooks ---------------------------------------------------------------------------------


def _n_bits(n_classes: int) -> int:
    """m = ceil(log2 n) data bits (at least 1), computed exactly with integers."""
    return max(1, (int(n_classes) - 1).bit_length())


def _binary_codebook(n_classes: int) -> np.ndarray:
    m = _n_bits(n_classes)
    codes = np.arange(n_classes)[:, None]
    return ((codes >> np.arange(m - 1, -1, -1)) & 1).astype(np.int8)


def _hamming3_layout(m: int) -> list[tuple[str, int, frozenset]]:
    """Bit layout of the shortened Hamming code for m data bits.

    Returns one entry per codeword bit, in codeword order: ("data", t, {t}) or ("parity", j, S_j)
    where t counts data bits from the most significant class bit (t = 0) and S_j is the set of
    data bits that parity bit j checks.
    """
    r = 2
    while 2**r - 1 - r < m:
        r += 1
    patterns = [p for p in range(2**r) if bin(p).count("1") >= 2][:m]
    checks = [frozenset(t for t in range(m) if patterns[t] >> j & 1) for j in range(r)]
    layout = []
    for t in range(m):
        layout.append(("data", t, frozenset([t])))
        layout.extend(("parity", j, checks[j]) for j in range(r) if checks[j] and max(checks[j]) == t)
    return layout


def codebook(encoding: str, n_classes: int) -> np.ndarray | None:
    """The n_classes x n_bits 0/1 matrix whose row c is the codeword of class code c, or None for
    ``one_hot`` and ``ordinal`` (which have no codebook). With m = ceil(log2 n) (at least 1):

    - ``binary``: row c is c written with m bits, most significant first.
    - ``hamming2``: the binary row followed by its even-parity bit (the XOR of the m bits), i.e.
      the first n words of length m + 1 with an even number of ones, in increasing order. Minimum
      distance 2. For 8 classes: 0000 0011 0101 0110 1001 1010 1100 1111.
    - ``hamming3``: a shortened Hamming code, minimum distance 3. r is the smallest number of
      parity bits with 2**r - 1 - r >= m (so 2 classes -> 3 bits, 3-4 -> 5, 5-8 -> 6, 9-16 -> 7,
      17-2048 -> m + 4). Data bit t (t = 0 is the most significant bit of c) is given the t-th
      smallest r-bit pattern with at least two ones (3, 5, 6, 7, 9, ...); parity bit j is the
      XOR of the data bits whose pattern has bit j set. Bits are written data bit by data bit,
      each parity bit right after the last data bit it checks (parity bits in order of j). The
      patterns being distinct and of weight >= 2 is what makes the distance 3: two codewords
      differing in one data bit differ in >= 2 parity bits, in two data bits in >= 1 parity bit.
      For 8 classes (data bits a b c, parities a^b, a^c, b^c) the words are
      000000 000111 011001 011110 101010 101101 110011 110100.
    """
    _check_encoding(encoding)
    n = _check_n_classes(n_classes)
    if encoding in ("one_hot", "ordinal"):
        return None
    binary = _binary_codebook(n)
    if encoding == "binary":
        return binary
    if encoding == "hamming2":
        parity = binary.sum(axis=1, keepdims=True) % 2
        return np.hstack([binary, parity]).astype(np.int8)
    columns = [binary[:, sorted(bits)].sum(axis=1) % 2 for _, _, bits in _hamming3_layout(binary.shape[1])]
    return np.stack(columns, axis=1).astype(np.int8)


def n_outputs(encoding: str, n_classes: int) -> int:
    """Number of network output units for the encoding: n for one_hot, 1 for ordinal, the
    codeword length otherwise."""
    _check_encoding(encoding)
    n = _check_n_classes(n_classes)
    if encoding == "one_hot":
        return n
    if encoding == "ordinal":
        return 1
    return codebook(encoding, n).shape[1]


# --- encode / decode ---------------------------------------------------------------------------


def encode(encoding: str, codes, n_classes: int) -> np.ndarray:
    """Float32 training targets for integer class codes (0..n_classes-1).

    one_hot -> (N, n) indicator rows; ordinal -> (N, 1) column holding the code; binary, hamming2,
    hamming3 -> (N, n_bits) rows of :func:`codebook`.
    """
    _check_encoding(encoding)
    n = _check_n_classes(n_classes)
    codes = _check_codes(codes, n)
    if encoding == "one_hot":
        return one_hot(codes, n)
    if encoding == "ordinal":
        return codes.astype(np.float32)[:, None]
    return codebook(encoding, n)[codes].astype(np.float32)


def decode(encoding: str, outputs, n_classes: int, *, distance: str = "l1") -> np.ndarray:
    """Integer class codes (int64) from network outputs; ties go to the lowest class code.

    - one_hot: argmax over the n columns. (For outputs in [0, 1] this is also the nearest
      one-hot vector in L1 and in L2.)
    - ordinal: an (N,) or (N, 1) prediction y gives ceil(y - 1/2) clipped to [0, n-1] (nearest
      code, halves go down); an (N, n) score matrix (n > 1) gives its argmax.
    - binary, hamming2, hamming3: the class whose codeword w is nearest to the output row y,
      among the n valid codewords only. ``distance``: ``l1`` sum|y - w| (default), ``l2``
      sum (y - w)**2, or ``hamming``: the number of bits where (y > 1/2) != w. On hard 0/1
      outputs the three are the same Hamming distance. For outputs in [0, 1] L1 and L2 always
      pick the same codeword: both equal sum(y) or sum(y**2), which do not depend on w, plus
      sum_j w_j (1 - 2 y_j).
    """
    _check_encoding(encoding)
    n = _check_n_classes(n_classes)
    y = np.asarray(outputs, dtype=np.float64)
    if encoding == "ordinal":
        if y.ndim == 2 and y.shape[1] == n and n > 1:
            return np.argmax(y, axis=1).astype(np.int64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"ordinal outputs must have shape (N,), (N, 1) or (N, {n}); got {y.shape}")
        return np.clip(np.ceil(y - 0.5), 0, n - 1).astype(np.int64)
    if encoding == "one_hot":
        _check_outputs_shape(y, n, encoding)
        return np.argmax(y, axis=1).astype(np.int64)
    if distance not in DECODE_DISTANCES:
        raise ValueError(f"unknown distance '{distance}'; choose one of {list(DECODE_DISTANCES)}")
    book = codebook(encoding, n).astype(np.float64)
    _check_outputs_shape(y, book.shape[1], encoding)
    if distance == "hamming":
        y = (y > 0.5).astype(np.float64)
    diff = y[:, None, :] - book[None, :, :]
    dist = (diff**2).sum(axis=2) if distance == "l2" else np.abs(diff).sum(axis=2)
    return np.argmin(dist, axis=1).astype(np.int64)


# --- argument checks ---------------------------------------------------------------------------


def _check_encoding(encoding: str) -> None:
    if encoding not in LABEL_ENCODINGS:
        raise ValueError(f"unknown label encoding '{encoding}'; choose one of {list(LABEL_ENCODINGS)}")


def _check_n_classes(n_classes) -> int:
    n = int(n_classes)
    if n != n_classes or n < 1:
        raise ValueError(f"n_classes must be a positive integer; got {n_classes!r}")
    return n


def _check_codes(codes, n: int) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.ndim != 1:
        raise ValueError(f"class codes must be a 1-D array; got shape {arr.shape}")
    if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"class codes must be integers in [0, {n - 1}]")
    return arr.astype(np.int64)


def _check_outputs_shape(y: np.ndarray, width: int, encoding: str) -> None:
    if y.ndim != 2 or y.shape[1] != width:
        raise ValueError(f"{encoding} outputs must have shape (N, {width}); got {y.shape}")
