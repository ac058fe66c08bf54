"""Uncertainty quantification from ensembles (CANDLE's UQ workflows, DeepHyper ensembles).

- :mod:`.ensembles`: the member trials a ``uq`` config asks for (seed, bootstrap or subsample
  ensembles, and the saved model MC dropout samples), each a content-addressed MEMBER trial;
- :mod:`.members`: members' (or MC-dropout passes') predictions stacked into arrays;
- :mod:`.classification`: predictive entropy, mutual information, ECE, Brier, NLL,
  reliability bins and the risk-coverage curve of averaged class probabilities;
- :mod:`.regression`: predictive mean and the aleatoric/epistemic split of its variance,
  Gaussian and quantile intervals, coverage (PICP) and width;
- :mod:`.recalibration`: interval scale factors (or margins) fitted on a calibration split;
- :mod:`.summary` and :mod:`.plots`: the tables and figures of results/uq/.

No TensorFlow here except in :mod:`.mc_dropout` (which loads a saved model).
"""
