# Uncertainty quantification: ensembles, MC dropout, heteroscedastic and quantile heads.
