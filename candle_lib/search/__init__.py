"""Hyperparameter search: spaces, methods, trial planning, and the results of a search.

- :mod:`.methods`: config -> the trials of a grid, random or UPF search (the entry point);
- :mod:`.rounds`, :mod:`.bayesian`: Bayesian searches round by round (Optuna, imported only
  when a round is planned);
- :mod:`.space`: dimensions of ``hpo.space`` (lists, ranges, conditional entries);
- :mod:`.grid`, :mod:`.random_search`, :mod:`.upf`: the points of the other methods; UPF files
  of CANDLE's Supervisor;
- :mod:`.bindings`, :mod:`.data_variants`: what a point sets (hyperparameters, ``data.`` options,
  bundles); ``data.`` settings merged into the data config, and prep ids;
- :mod:`.plan_builder`, :mod:`.trial_ids`, :mod:`.value_cache`: points -> specs and fast ids;
- :mod:`.bundles`: short trials run several to a job;
- :mod:`.objective`, :mod:`.aggregate`: a trial's objective; trial directories -> one table and
  the best trial;
- :mod:`.plots`, :mod:`.pages`: a search's figures and its HTML tables for the report.

No TensorFlow, and no Optuna until a Bayesian round is planned.
"""

from candle_lib.search.aggregate import best_summary, best_trial, read_trial, trials_table
from candle_lib.search.bayesian import suggest_points
from candle_lib.search.bundles import make_bundles
from candle_lib.search.data_variants import prep_id
from candle_lib.search.grid import expand_grid
from candle_lib.search.methods import check_hpo, final_spec, plan_hpo, plan_search
from candle_lib.search.objective import objective_value
from candle_lib.search.pages import final_page, trials_page
from candle_lib.search.plan_builder import SearchPlan, plan_points
from candle_lib.search.plots import write_search_plots
from candle_lib.search.random_search import random_points
from candle_lib.search.rounds import plan_round, round_history
from candle_lib.search.space import parse_space
from candle_lib.search.upf import read_upf, upf_rows, write_upf

__all__ = [
    # planning
    "plan_search",
    "plan_hpo",
    "check_hpo",
    "SearchPlan",
    "plan_round",
    "round_history",
    "final_spec",
    "prep_id",
    # spaces and methods
    "parse_space",
    "expand_grid",
    "random_points",
    "suggest_points",
    "plan_points",
    "read_upf",
    "write_upf",
    "upf_rows",
    "make_bundles",
    # results
    "objective_value",
    "read_trial",
    "trials_table",
    "best_trial",
    "best_summary",
    "write_search_plots",
    "trials_page",
    "final_page",
]
