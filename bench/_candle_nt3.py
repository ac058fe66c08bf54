"""A stand-in for CANDLE's NT3 benchmark run (nt3_baseline_keras2.py), for bench/bench_vs_candle.py.

Not a bench: one measured process of the ``candle_nt3`` kind. It does what CANDLE's NT3 script
does with its default hyperparameters, written here from the published description of that
script (nothing copied), under this project's Keras 3 (the real CANDLE run uses tf-keras):

- reads the train and test CSVs (no header, column 0 the class) with ``pandas.read_csv`` into
  float32, the labels one-hot (Keras ``to_categorical``);
- fits a ``MaxAbsScaler`` on the train and test rows stacked together and scales both, as CANDLE
  does; adds the channel axis for Conv1D;
- builds the NT3 network: Conv1D/ReLU/MaxPooling1D per conv triple (filters, kernel, stride) and
  pool size, Flatten, Dense/ReLU/Dropout per dense width, a softmax Dense of the classes;
  compiled with SGD (learning rate 0.001), categorical cross-entropy and accuracy;
- fits for the given epochs with batch 20, validating on the test rows every epoch (the
  validation batch is the training batch, Keras' default), with CANDLE's CSVLogger and
  ReduceLROnPlateau(val_loss, factor 0.1, patience 10) callbacks;
- evaluates on the test rows, then writes the model's JSON and its weights (``.weights.h5``).

Op determinism is not turned on (CANDLE seeds the generators only). ``--marks FILE`` receives a
JSON of wall-clock marks (first training batch begins, last one ends, per-epoch seconds) and,
with ``--profile-memory``, the resident memory at each stage (bench/_memory_stages.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory_stages import StageProbe  # noqa: E402

CONV = [128, 20, 1, 128, 10, 1]  # CANDLE NT3 defaults (nt3_default_model.txt)
POOL = [1, 10]
DENSE = [200, 20]
DROPOUT = 0.1
LEARNING_RATE = 0.001
BATCH = 20
CLASSES = 2
SEED = 7102


def load_data(train_path: str, test_path: str):
    """CANDLE's NT3 loading: both CSVs parsed by pandas, MaxAbs scaling fitted on train + test."""
    import numpy as np
    import pandas as pd
    from keras.utils import to_categorical
    from sklearn.preprocessing import MaxAbsScaler

    train = pd.read_csv(train_path, header=None).values.astype("float32")
    test = pd.read_csv(test_path, header=None).values.astype("float32")
    y_train = to_categorical(train[:, 0].astype("int"), CLASSES)
    y_test = to_categorical(test[:, 0].astype("int"), CLASSES)
    x_train, x_test = train[:, 1:].astype(np.float32), test[:, 1:].astype(np.float32)
    both = MaxAbsScaler().fit_transform(np.concatenate((x_train, x_test), axis=0))
    x_train, x_test = both[: len(x_train)], both[len(x_train) :]
    return np.expand_dims(x_train, axis=2), y_train, np.expand_dims(x_test, axis=2), y_test


def build_network(n_features: int):
    """The NT3 1D-CNN of CANDLE's defaults, compiled as its script compiles it."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((n_features, 1))])
    for index in range(0, len(CONV), 3):
        filters, kernel, stride = CONV[index : index + 3]
        model.add(layers.Conv1D(filters=filters, kernel_size=kernel, strides=stride, padding="valid"))
        model.add(layers.Activation("relu"))
        model.add(layers.MaxPooling1D(pool_size=POOL[index // 3]))
    model.add(layers.Flatten())
    for width in DENSE:
        model.add(layers.Dense(width))
        model.add(layers.Activation("relu"))
        model.add(layers.Dropout(DROPOUT))
    model.add(layers.Dense(CLASSES))
    model.add(layers.Activation("softmax"))
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
        metrics=["accuracy"],
    )
    return model


def run(args, probe: StageProbe) -> dict:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(SEED)
    probe.mark("load (read_csv x2, scale)")
    x_train, y_train, x_test, y_test = load_data(args.train, args.test)
    probe.mark("build + compile")
    model = build_network(x_train.shape[1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    marks = {"epoch_seconds": []}

    class Marks(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            marks.setdefault("first_batch", time.time())

        def on_train_batch_end(self, batch, logs=None):
            marks["last_batch_end"] = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.monotonic()
            probe.mark(f"epoch {epoch + 1} (train + validate)")

        def on_epoch_end(self, epoch, logs=None):
            marks["epoch_seconds"].append(time.monotonic() - self.started)
            marks["val_loss"] = float(logs["val_loss"])

    callbacks = [
        keras.callbacks.CSVLogger(str(out / "training.log")),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, min_delta=0.0001),
        Marks(),
    ]
    model.fit(
        x_train,
        y_train,
        batch_size=BATCH,
        epochs=args.epochs,
        verbose=0,
        validation_data=(x_test, y_test),
        callbacks=callbacks,
    )
    probe.mark("evaluate")
    score = model.evaluate(x_test, y_test, verbose=0)
    probe.mark("save model json + weights")
    (out / "nt3.model.json").write_text(model.to_json())
    model.save_weights(out / "nt3.weights.h5")
    probe.mark("end")
    marks.update(test_loss=float(score[0]), n_train=len(x_train), n_eval=len(x_test))
    return marks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--marks", required=True)
    parser.add_argument("--profile-memory", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with StageProbe(enabled=args.profile_memory) as probe:
        probe.mark("import tensorflow + keras")
        marks = run(args, probe)
    marks["stages"] = probe.stages
    Path(args.marks).write_text(json.dumps(marks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
