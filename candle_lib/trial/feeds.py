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


def batch_positions(n: int, *, batch_size: int, seed: int, start_epoch: int, epochs: int):
    """A tf.data pipeline of int64 position batches (0..n-1), shuffled per epoch from (seed, epoch)."""
    import tensorflow as tf

    def one_epoch(epoch):
        positions = tf.data.Dataset.range(n).batch(batch_size)
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return positions.map(lambda p: tf.random.experimental.index_shuffle(p, seed=key, max_index=n - 1))

    return tf.data.Dataset.range(start_epoch, epochs).flat_map(one_epoch)


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


def training_dataset(x, y, weights, *, batch_size: int, seed: int, start_epoch: int, epochs: int):
    """(x, y, sample_weight) batches of rows of x for epochs start_epoch..epochs-1; (x, y) when
    ``weights`` is None."""
    import tensorflow as tf

    x_rows, y_t = row_gather(x), tf.constant(y)
    batches = batch_positions(int(x.shape[0]), batch_size=batch_size, seed=seed, start_epoch=start_epoch, epochs=epochs)
    if weights is None:  # no per-row weights: Keras skips the weighting altogether
        return prefetched(batches.map(lambda idx: (x_rows(idx), tf.gather(y_t, idx))))
    w_t = tf.constant(np.asarray(weights, dtype=np.float32))
    gathered = batches.map(lambda idx: (x_rows(idx), tf.gather(y_t, idx), tf.gather(w_t, idx)))
    return prefetched(gathered)


def eval_dataset(x, y, *, batch_size: int):
    """(x, y) batches of all rows of x in order, or x batches alone when y is None."""
    import tensorflow as tf

    x_rows = row_gather(x)
    positions = tf.data.Dataset.range(int(x.shape[0])).batch(batch_size)
    if y is None:
        return prefetched(positions.map(x_rows))
    y_t = tf.constant(y)
    return prefetched(positions.map(lambda idx: (x_rows(idx), tf.gather(y_t, idx))))


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
    inputs: JoinedInputs, y, weights, *, batch_size: int, seed: int, start_epoch: int, epochs: int
):
    import tensorflow as tf

    y_t = tf.constant(y)
    batches = batch_positions(len(inputs), batch_size=batch_size, seed=seed, start_epoch=start_epoch, epochs=epochs)
    if weights is None:
        return prefetched(batches.map(lambda idx: (inputs.gather(idx), tf.gather(y_t, idx))))
    w_t = tf.constant(np.asarray(weights, dtype=np.float32))
    return prefetched(batches.map(lambda idx: (inputs.gather(idx), tf.gather(y_t, idx), tf.gather(w_t, idx))))


def joined_eval_dataset(inputs: JoinedInputs, y, *, batch_size: int):
    """(x, y) batches of every response in order (for validation and prediction)."""
    import tensorflow as tf

    y_t = tf.constant(y)
    positions = tf.data.Dataset.range(len(inputs)).batch(batch_size)
    return prefetched(positions.map(lambda idx: (inputs.gather(idx), tf.gather(y_t, idx))))


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights n / (k * n_c) of scikit-learn's 'balanced' class weights."""
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(n_classes)
    per_class[present] = len(codes) / (present.sum() * counts[present])
    return per_class[codes].astype(np.float32)
