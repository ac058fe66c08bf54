"""Training-data analysis (issue 6): train on subsets of the data and cross-compare the models.

- :mod:`.design`: the trials of each analysis, as content-addressed trial specs;
- :mod:`.options`, :mod:`.plan`: the ``tda`` config section made concrete, and its trials;
- :mod:`.groups`: the groups of a prepared dataset that group-wise trainings can use;
- :mod:`.scoring`, :mod:`.tables`: a metric on any subset of a trial's predictions, and tables
  over trials (learning curve, noise curves);
- :mod:`.group_matrix`, :mod:`.transfer`, :mod:`.representation`: the other analyses' tables;
- :mod:`.plots`: their figures.

No TensorFlow here. The names of the modules that score trials (SciPy, scikit-learn) load on
first use.
"""

from candle_lib.lazy_names import lazy_names as _lazy_names
from candle_lib.tda.groups import usable_groups
from candle_lib.tda.options import analyses, metric_of
from candle_lib.tda.plan import plan_trials, tda_plan
from candle_lib.tda.plots import plot_group_matrix, plot_learning_curve, plot_noise_curve

_LAZY = {  # name -> module that imports SciPy or scikit-learn
    "score": "scoring",
    "trial_score": "scoring",
    "curve_tables": "tables",
    "group_matrix_table": "group_matrix",
    "group_matrix_wide": "group_matrix",
    "transfer_tables": "transfer",
    "representation_table": "representation",
    "pca_reconstruction": "representation",
    "reconstruction_scores": "representation",
    "compare_reconstructions": "representation",
}

__all__ = [
    "tda_plan",
    "plan_trials",
    "analyses",
    "metric_of",
    "usable_groups",
    "score",
    "trial_score",
    "curve_tables",
    "group_matrix_table",
    "group_matrix_wide",
    "transfer_tables",
    "representation_table",
    "pca_reconstruction",
    "reconstruction_scores",
    "compare_reconstructions",
    "plot_learning_curve",
    "plot_noise_curve",
    "plot_group_matrix",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
