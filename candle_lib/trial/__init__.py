"""One trial: a spec and its role -> a trained model and its trial directory (DESIGN.md section 3).

- :mod:`.spec`: what a trial is (``trial_spec``), its content-addressed id, and every role
  workflows build trials from (HOLDOUT, FINAL, MEMBER, ``fold_role``);
- :mod:`.roles`: which rows a role trains on, scores and predicts, and its label/feature noise;
- :mod:`.tasks`, :mod:`.heads`: classification, regression (mean, Gaussian, quantile heads) and
  reconstruction: targets, scores and the predictions table;
- :mod:`.metrics`: the scores of metrics.json;
- :mod:`.scaling`: scalers fitted on training rows only, saved as JSON;
- :mod:`.feed_kinds`: the trial's data of either kind (expression rows, or drug responses
  joined to their features): :func:`make_feed`, the one place the two kinds part;
- :mod:`.feeds`: rows fed to Keras as tf.data batches, shuffled per epoch from the seed;
- :mod:`.callbacks`, :mod:`.checkpoint`: the epoch log, early stopping and LR plateaus,
  and checkpoints that resume bit-identically;
- :mod:`.tf_setup`: TensorFlow's threads, seeds, determinism and device for one process;
- :mod:`.run`: :func:`run_trial` (load, scale, build, train or resume, evaluate, write) and
  :func:`run_bundle`;
- :mod:`.saved_model`: a finished trial as a predictor (its model.keras and scaler);
- :mod:`.command` (with :mod:`.command_io`, :mod:`.command_line`, :mod:`.command_process`): a
  trial whose model runs out of process (a training command, an IMPROVE-style script, a CANDLE
  benchmark module through the standalone :mod:`.candle_benchmark_runner`), under the contract
  of docs/plugins.md; it never imports TensorFlow.

This and :mod:`candle_lib.models` are the only places that import TensorFlow, and only when a
trial trains or a saved model loads: importing this package does not. The names of the modules
that import Keras (or, for the robust and percent scalers, scikit-learn) load on first use.
"""

from candle_lib.lazy_names import lazy_names as _lazy_names
from candle_lib.trial.roles import RoleRows, role_rows
from candle_lib.trial.spec import FINAL, HOLDOUT, MEMBER, fold_role, trial_id, trial_spec
from candle_lib.trial.tf_setup import configure_tensorflow

_LAZY = {  # name -> module that imports Keras, or scikit-learn for some scalers
    "run_trial": "run",
    "run_bundle": "run",
    "TrialRun": "run",
    "make_feed": "feed_kinds",
    "load_trial_model": "saved_model",
    "TrialModel": "saved_model",
    "task_for": "tasks",
    "fit_scaler": "scaling",
    "apply_scaler": "scaling",
    "scaler_to_json": "scaling",
    "scaler_from_json": "scaling",
    "classification_metrics": "metrics",
    "regression_metrics": "metrics",
}

__all__ = [
    "trial_spec",
    "trial_id",
    "HOLDOUT",
    "FINAL",
    "MEMBER",
    "fold_role",
    "role_rows",
    "RoleRows",
    "run_trial",
    "run_bundle",
    "TrialRun",
    "make_feed",
    "configure_tensorflow",
    "task_for",
    "fit_scaler",
    "apply_scaler",
    "scaler_to_json",
    "scaler_from_json",
    "classification_metrics",
    "regression_metrics",
    "load_trial_model",
    "TrialModel",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
