"""The lengths of NT3/TC1's Conv1D -> MaxPooling1D stack, computed as Keras does (padding
"valid"; a pool's stride is its size), without Keras: so that a ``conv``/``pool`` that cannot
fit the input width is found before TensorFlow starts, with the largest kernel or pool that fits.

A Conv1D of kernel k and stride s turns L positions into floor((L - k) / s) + 1 (none if
L < k); a MaxPooling1D of size p turns L into floor((L - p) / p) + 1 = floor(L / p) (none if
L < p). A pool of 1 is no pooling layer.
"""

from __future__ import annotations

from candle_lib.errors import CandleInputError

CONV_MODELS = ("nt3", "tc1")


def conv_triples(conv) -> list[tuple[int, int, int]]:
    """``conv`` as (filters, kernel, stride) triples."""
    conv = list(conv)
    if len(conv) % 3:
        raise CandleInputError(
            f"config key 'model.conv': must hold [filters, kernel, stride] triples; got {len(conv)} numbers"
        )
    return [tuple(conv[i : i + 3]) for i in range(0, len(conv), 3)]


def conv_output_length(length: int, kernel: int, stride: int) -> int:
    """Keras Conv1D (padding valid): output positions of ``length`` input positions (0: none)."""
    return (length - kernel) // stride + 1 if length >= kernel else 0


def pool_output_length(length: int, pool: int) -> int:
    """Keras MaxPooling1D (pool_size = strides = ``pool``, padding valid)."""
    return length // pool if pool > 1 else length


def check_conv_fits(params: dict, width: int, *, width_says: str = "", where: str = "model") -> list[int]:
    """The positions after each conv layer's pooling, for ``width`` input features; a layer that
    gets fewer positions than its kernel (or pool) is a CandleInputError naming the key
    (``model.conv`` / ``model.pool``), the width and the largest kernel (pool) that would fit.
    ``width_says`` tells where the width comes from (e.g. ``data.filters.top_variance: 100``).
    Models other than nt3/tc1 pass with []."""
    if params["model"] not in CONV_MODELS:
        return []
    triples, pools = conv_triples(params["conv"]), list(params["pool"])
    if len(pools) != len(triples):
        raise CandleInputError(
            f"config key '{where}.pool': {len(pools)} entries, but {where}.conv has {len(triples)} layers; "
            "give one pool size per conv layer (1 = no pooling)"
        )
    origin = f"an input of {width} features" + (f" ({width_says})" if width_says else "")
    lengths, length = [], width
    for i, ((_, kernel, stride), pool) in enumerate(zip(triples, pools), start=1):
        if length < kernel:
            raise CandleInputError(
                f"config key '{where}.conv': layer {i} has kernel {kernel}, but gets only {length} positions from "
                f"{origin}; the largest kernel that fits layer {i} is {length} (or use fewer layers, smaller "
                "kernels/pools or more features)"
            )
        length = conv_output_length(length, kernel, stride)
        if pool > length:
            raise CandleInputError(
                f"config key '{where}.pool': pool {pool} after conv layer {i} gets only {length} positions from "
                f"{origin}; the largest pool that fits is {length}"
            )
        length = pool_output_length(length, pool)
        lengths.append(length)
    return lengths
