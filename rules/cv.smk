# Cross-validation: k folds of one configuration -> folds.tsv, summary, out-of-fold predictions.
