"""Feeding training rows to Keras: deterministic per-epoch shuffles, batches gathered on the fly.

The shuffle of epoch ``e`` is a stateless permutation of seed ``(rng_seed, e)``, so it does not
depend on how many epochs ran before in this process: a trial resumed from a checkpoint at
epoch k sees exactly the batches an uninterrupted run sees from epoch k on. The training rows
are held once; each batch gathers only its own rows. For drug-response data each batch is
assembled from the join indices: the cell-line and drug feature rows of its responses, and the
dose, so the joined (responses x features) matrix never exists.
"""

from __future__ import annotations

import math

import numpy as np


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    return math.ceil(n_rows / batch_size)


def batch_positions(n: int, *, batch_size: int, seed: int, start_epoch: int, epochs: int):
    """A tf.data pipeline of int64 position batches (0..n-1), shuffled per epoch from (seed, epoch)."""
    import tensorflow as tf

    def one_epoch(epoch):
        positions = tf.data.Dataset.range(n).batch(batch_size)
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return positions.map(lambda p: tf.random.experimental.index_shuffle(p, seed=key, max_index=n - 1))

    return tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)


def worker_share(idx, share):
    """Worker ``share = (index, count)``'s part of a global batch of positions ``idx``: its
    contiguous ``len(idx) * index // count`` to ``len(idx) * (index + 1) // count`` (sizes differ
    by at most one row; a worker may get none of a last batch smaller than ``count``), and the
    factor ``count * share / len(idx)`` on the loss of each of its rows. Keras averages a loss over
    the worker's rows and divides it by the number of workers before the gradients are summed
    across them; the factor makes that sum the mean gradient of the whole global batch, as one
    worker would compute it, even when the rows do not split evenly (it is 1 when they do)."""
    import tensorflow as tf

    index, count = share
    size = tf.shape(idx, out_type=tf.int64)[0]
    low, high = size * index // count, size * (index + 1) // count
    factor = tf.cast(count * (high - low), tf.float32) / tf.cast(tf.maximum(size, 1), tf.float32)
    return idx[low:high], factor


PREFETCH_BATCHES = 2


def prefetched(dataset):
    """``dataset`` with PREFETCH_BATCHES batches made ahead, and tf.data's autotuning off.

    An autotuned pipeline runs a model thread that sleeps between its optimizations, and an
    iterator that is destroyed (at the end of every fit, validation pass and prediction) waits
    for that thread to wake up: measured here, 8 to 30 s of idle wall time at the end of a
    trial. The batches, and so the results, are the same either way."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(PREFETCH_BATCHES).with_options(options)


def _sharded(positions, share, gather):
    """``positions`` batches mapped to ``gather(rows, factor)`` of this worker's share, or of
    every row with factor None when ``share`` is None (one process trains alone), prefetched."""
    if share is None:
        return prefetched(positions.map(lambda idx: gather(idx, None)))
    return prefetched(positions.map(lambda idx: gather(*worker_share(idx, share))))


def _weighted(rows, factor, w_t):
    """Per-row loss weights of ``rows``: the class weights ``w_t`` and the worker's factor;
    None when there are neither (Keras then skips weighting altogether)."""
    import tensorflow as tf

    if factor is None:
        return None if w_t is None else tf.gather(w_t, rows)
    ones = tf.fill(tf.shape(rows), factor)
    return ones if w_t is None else tf.gather(w_t, rows) * factor


def _example(x, y, w):
    """A training batch as Keras takes it: (x, y), or (x, y, sample_weight) when there are weights."""
    return (x, y) if w is None else (x, y, w)


def row_gather(values: np.ndarray):
    """A TensorFlow function ``idx -> values[idx]`` that reads the NumPy array where it is.

    The rows enter TensorFlow one batch at a time. A tensor made of the whole array would copy
    it (``tf.constant``), and a tf.data function that captures a tensor copies it once more when
    tf.data rewrites its graph, which it always does under op determinism."""
    import tensorflow as tf

    dtype, tail = tf.as_dtype(values.dtype), list(values.shape[1:])

    def gather(idx):
        rows = tf.numpy_function(lambda positions: values[positions], [idx], dtype, stateful=False)
        rows.set_shape([None, *tail])
        return rows

    return gather


def training_dataset(x, y, weights, *, batch_size: int, seed: int, start_epoch: int, epochs: int, share=None):
    """(x, y, sample_weight) batches of rows of x for epochs start_epoch..epochs-1; (x, y) when
    ``weights`` is None and one process trains alone. ``share``: (worker, workers) of a trial
    trained over several workers, each reading only its share of every global batch
    (:func:`worker_share`)."""
    import tensorflow as tf

    x_rows, y_t = row_gather(x), tf.constant(y)
    w_t = None if weights is None else tf.constant(np.asarray(weights, dtype=np.float32))
    batches = batch_positions(int(x.shape[0]), batch_size=batch_size, seed=seed, start_epoch=start_epoch, epochs=epochs)

    def gather(rows, factor):
        return _example(x_rows(rows), tf.gather(y_t, rows), _weighted(rows, factor, w_t))

    return _sharded(batches, share, gather)


def eval_dataset(x, y, *, batch_size: int, share=None):
    """(x, y) batches of all rows of x in order, or x batches alone when y is None; of this
    worker's share of each batch when ``share`` is given."""
    import tensorflow as tf

    x_rows = row_gather(x)
    positions = tf.data.Dataset.range(int(x.shape[0])).batch(batch_size)
    if y is None:
        return _sharded(positions, share, lambda rows, factor: x_rows(rows))
    y_t = tf.constant(y)
    return _sharded(positions, share, lambda rows, factor: (x_rows(rows), tf.gather(y_t, rows)))


class JoinedInputs:
    """Model inputs ``[cell features | drug features | dose]`` of responses, gathered by index."""

    def __init__(self, cell, drug, cell_row, drug_row, dose):
        import tensorflow as tf

        self.n_cell_features, self.n_drug_features = cell.shape[1], drug.shape[1]
        self.cells, self.drugs = row_gather(cell), row_gather(drug)
        self.cell_row, self.drug_row = (
            tf.constant(np.asarray(cell_row, np.int64)),
            tf.constant(np.asarray(drug_row, np.int64)),
        )
        self.dose = tf.constant(np.asarray(dose, np.float32))

    def gather(self, idx):
        import tensorflow as tf

        cells = self.cells(tf.gather(self.cell_row, idx))
        drugs = self.drugs(tf.gather(self.drug_row, idx))
        return tf.concat([cells, drugs, tf.gather(self.dose, idx)[:, None]], axis=1)

    def __len__(self) -> int:
        return int(self.dose.shape[0])


def joined_training_dataset(
    inputs: JoinedInputs, y, weights, *, batch_size: int, seed: int, start_epoch: int, epochs: int, share=None
):
    import tensorflow as tf

    y_t = tf.constant(y)
    w_t = None if weights is None else tf.constant(np.asarray(weights, dtype=np.float32))
    batches = batch_positions(len(inputs), batch_size=batch_size, seed=seed, start_epoch=start_epoch, epochs=epochs)

    def gather(rows, factor):
        return _example(inputs.gather(rows), tf.gather(y_t, rows), _weighted(rows, factor, w_t))

    return _sharded(batches, share, gather)


def joined_eval_dataset(inputs: JoinedInputs, y, *, batch_size: int, share=None):
    """(x, y) batches of every response in order (for validation and prediction)."""
    import tensorflow as tf

    y_t = tf.constant(y)
    positions = tf.data.Dataset.range(len(inputs)).batch(batch_size)
    return _sharded(positions, share, lambda rows, factor: (inputs.gather(rows), tf.gather(y_t, rows)))


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights n / (k * n_c) of scikit-learn's 'balanced' class weights."""
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(n_classes)
    per_class[present] = len(codes) / (present.sum() * counts[present])
    return per_class[codes].astype(np.float32)
