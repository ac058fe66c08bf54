"""Uncertainty quantification from ensembles (CANDLE's UQ workflows, DeepHyper ensembles).

- :mod:`.ensembles`: the member trials a ``uq`` config asks for (seed, bootstrap or subsample
  ensembles, and the saved model MC dropout samples), each a content-addressed MEMBER trial;
- :mod:`.members`: members' (or MC-dropout passes') predictions stacked into arrays;
- :mod:`.classification`: predictive entropy, mutual information, ECE, Brier, NLL,
  reliability bins and the risk-coverage curve of averaged class probabilities;
- :mod:`.regression`: predictive mean and the aleatoric/epistemic split of its variance,
  Gaussian and quantile intervals, coverage (PICP) and width;
- :mod:`.recalibration`: interval scale factors (or margins) fitted on a calibration split;
- :mod:`.summary`, :mod:`.aggregate` and :mod:`.plots`: the tables and figures of results/uq/;
- :mod:`.mc_dropout`: the passes of a saved model with dropout left on.

No TensorFlow on import: only :func:`mc_dropout_predictions` loads a saved model. The names of
the modules that import SciPy or scikit-learn load on first use.
"""

from candle_lib.lazy_names import lazy_names as _lazy_names
from candle_lib.uq.ensembles import UQPlan, uq_plan
from candle_lib.uq.members import Stacked, stack_classification, stack_regression
from candle_lib.uq.plots import plot_calibration_curve, plot_reliability, plot_risk_coverage

_LAZY = {  # name -> module that imports SciPy or scikit-learn (mc_dropout: Keras when it runs)
    "entropy": "classification",
    "mutual_information": "classification",
    "brier_score": "classification",
    "negative_log_likelihood": "classification",
    "reliability_bins": "classification",
    "risk_coverage": "classification",
    "classification_summary": "classification",
    "decompose": "regression",
    "gaussian_interval": "regression",
    "gaussian_nll": "regression",
    "picp": "regression",
    "mean_width": "regression",
    "gaussian_scale": "recalibration",
    "quantile_margin": "recalibration",
    "uq_tables": "aggregate",
    "write_uq_results": "aggregate",
    "mc_dropout_predictions": "mc_dropout",
}

__all__ = [
    "uq_plan",
    "UQPlan",
    "stack_classification",
    "stack_regression",
    "Stacked",
    "entropy",
    "mutual_information",
    "brier_score",
    "negative_log_likelihood",
    "reliability_bins",
    "risk_coverage",
    "classification_summary",
    "decompose",
    "gaussian_interval",
    "gaussian_nll",
    "picp",
    "mean_width",
    "gaussian_scale",
    "quantile_margin",
    "uq_tables",
    "write_uq_results",
    "plot_reliability",
    "plot_risk_coverage",
    "plot_calibration_curve",
    "mc_dropout_predictions",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
