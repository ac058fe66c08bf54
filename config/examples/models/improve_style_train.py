"""An IMPROVE-style model training script: hyperparameters on the command line, an input and an
output directory, the validation scores written to ``<output_dir>/val_scores.json``.

Use it with ``model: {model: improve, command: python config/examples/models/improve_style_train.py}``
and a declared ``l2_penalty`` (``hyperparameters: {l2_penalty: {type: float, default: 1.0}}``).
The trial calls it as::

    python improve_style_train.py --epochs E --batch_size B --learning_rate R --l2_penalty A \\
        --input_dir <trial>/command_input --output_dir <trial>/command_output

It fits a ridge model (closed form, NumPy only; ``epochs``, ``batch_size`` and ``learning_rate``
are accepted and not needed) to the regression target, or one-vs-rest to one-hot classes, and
writes ``val_scores.json`` with IMPROVE's names (``val_loss``, ``mse``, ``rmse``, ``r2`` for a
regressor; ``val_loss``, ``acc`` for a classifier) and ``predictions.npy`` for the x_predict rows.
"""

import argparse
import json
from pathlib import Path

import numpy as np


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.001)
    parser.add_argument("--l2_penalty", type=float, default=1.0)
    return parser.parse_args()


def ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    """Weights (with an intercept as the last row) minimizing |[x 1] w - y|^2 + penalty |w|^2."""
    design = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    return np.linalg.solve(design.T @ design + penalty * np.eye(design.shape[1]), design.T @ y)


def apply(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ weights


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def main() -> None:
    args = arguments()
    source, target = Path(args.input_dir), Path(args.output_dir)
    task = json.loads((source / "task.json").read_text())
    x_train, y_train = np.load(source / "x_train.npy"), np.load(source / "y_train.npy")
    x_eval, y_eval = np.load(source / "x_eval.npy"), np.load(source / "y_eval.npy")
    weights = ridge(x_train, y_train, args.l2_penalty)
    if task["task"] == "classification":
        p = np.clip(softmax(apply(weights, x_eval)), 1e-7, 1)
        codes = y_eval.argmax(axis=1)
        loss = float(-np.mean(np.log(p[np.arange(len(codes)), codes])))
        scores = {"val_loss": loss, "acc": float(np.mean(p.argmax(axis=1) == codes))}
        predictions = softmax(apply(weights, np.load(source / "x_predict.npy")))
    else:
        error = apply(weights, x_eval)[:, 0] - y_eval[:, 0]
        mse = float(np.mean(error**2))
        total = float(np.sum((y_eval[:, 0] - y_eval[:, 0].mean()) ** 2))
        scores = {"val_loss": mse, "mse": mse, "rmse": mse**0.5, "r2": 1 - float(np.sum(error**2)) / total}
        predictions = apply(weights, np.load(source / "x_predict.npy"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "val_scores.json").write_text(json.dumps(scores, indent=4))
    np.save(target / "predictions.npy", predictions)
    print(f"IMPROVE_RESULT val_loss:\t{scores['val_loss']}")


if __name__ == "__main__":
    main()
