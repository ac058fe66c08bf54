"""Training one trial over several worker processes with
``tf.distribute.MultiWorkerMirroredStrategy`` (``strategy: multi_worker``).

Every worker holds the whole model; each global batch of ``batch_size`` rows is split between the
workers (:func:`candle_lib.trial.feeds.worker_share`: each reads only its share of the rows), the
gradients are summed across them, and every worker applies the same update. The result is the
model one worker trains with the same global batch, up to float summation order; the learning
rate is therefore the configured one, unchanged (no scaling by the number of workers: the batch
it applies to is the same global batch). Dropout masks are drawn by each worker for its own rows,
so a model with dropout follows another (equally valid) random path than one worker's.

Keras 3's ``Model.fit`` cannot drive this strategy (keras-team/keras issue 20585: it reduces the
logs of each step with a mean over a scalar's axis 0), so :func:`fit_over_workers` runs the
epochs itself around Keras' own ``train_step``/``test_step`` and calls the trial's callbacks as
``fit`` does. Decisions that stop training are agreed by all workers (a worker that stopped alone
would wait for its peers' collectives): a non-finite loss is seen by all at once (the loss of the
step is summed across workers), a timeout is one worker's clock and is shared at the next step or
at the end of the epoch.
"""

from __future__ import annotations

import math

import numpy as np

OTHER_WORKER_TIMEOUT = "timeout: another worker's training exceeded the timeout"


def multi_worker_strategy():
    """The strategy of this process's cluster (TF_CONFIG; one worker when it is unset)."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def _distributed(strategy, make_dataset):
    """``make_dataset(share=...)`` distributed: each worker's input pipeline makes its own share."""
    return strategy.distribute_datasets_from_function(
        lambda context: make_dataset(share=(context.input_pipeline_id, context.num_input_pipelines))
    )


def _results(model, prefix: str = "") -> dict:
    """The model's metrics, summed over the workers' (reading a metric's variables across
    workers is itself a collective that every worker makes at the same point)."""
    return {prefix + name: float(value) for name, value in model.get_metrics_result().items()}


def fit_over_workers(
    model, strategy, *, training, validation, epochs: int, initial_epoch: int, steps: int, eval_steps: int,
    callbacks: list, monitor, tracker,
) -> None:  # fmt: skip
    """Train ``model`` (built and compiled in ``strategy``'s scope) from ``initial_epoch`` to
    ``epochs`` on the datasets ``training(share=...)`` (``steps`` batches an epoch, all epochs in one
    dataset) and ``validation(share=...)`` (``eval_steps`` batches, or None: no validation), calling
    ``callbacks`` as ``Model.fit`` does (epoch begin, batch end with the step's loss, epoch end
    with the epoch's metrics and ``val_`` metrics). ``monitor`` and ``tracker`` are among them:
    a stop they ask for ends training on every worker."""
    import keras
    import tensorflow as tf

    train_iterator = iter(_distributed(strategy, training))
    validation_data = None if validation is None else _distributed(strategy, validation)

    def replica_step(data, stop):
        logs = model.train_step(data)
        return tf.stack([tf.cast(logs["loss"], tf.float32), stop])

    @tf.function
    def train_step(iterator, stop):
        return strategy.reduce("SUM", strategy.run(replica_step, args=(next(iterator), stop)), axis=None)

    @tf.function
    def evaluate(iterator):
        for _ in tf.range(eval_steps):
            strategy.run(model.test_step, args=(next(iterator),))

    @tf.function
    def agree(stop):
        return strategy.reduce("SUM", strategy.run(tf.identity, args=(stop,)), axis=None)

    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    model.stop_training = False
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        shared_stop = False
        for step in range(steps):
            loss, stops = np.asarray(train_step(train_iterator, tf.constant(float(model.stop_training))))
            callback_list.on_train_batch_end(step, {"loss": float(loss)})
            if stops > 0 or not math.isfinite(loss):
                shared_stop = True
                break
        logs = _results(model)
        if validation_data is not None:
            model.reset_metrics()
            evaluate(iter(validation_data))
            logs |= _results(model, "val_")
        callback_list.on_epoch_end(epoch, logs)
        shared_stop = bool(float(agree(tf.constant(float(model.stop_training or shared_stop)))) > 0)
        if shared_stop:
            if monitor.stop_reason is None and not tracker.stopped_early:
                monitor.stop_reason = OTHER_WORKER_TIMEOUT
            model.stop_training = True
            break
