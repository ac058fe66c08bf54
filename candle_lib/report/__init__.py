"""What a study shows: a prepared dataset at a glance, and a study's progress while it runs.

- :mod:`.data_summary`: samples, genes, preparation and label balance of a prepared dataset;
- :mod:`.progress`: trials done, running and failed, the best so far, the rate and time left,
  read from the trial directories alone;
- :mod:`.status`: ``candle status`` (the progress as text) and the options it shares with
  ``candle serve``;
- :mod:`.dashboard`: ``candle serve``, a self-refreshing local web page of the progress.

No TensorFlow here.
"""

from candle_lib.report.dashboard import make_server, render_page
from candle_lib.report.data_summary import (
    balance_table,
    overview_table,
    plot_label_balance,
    summarize_prepared,
    summary_html,
)
from candle_lib.report.progress import (
    TrialProgress,
    format_status,
    planned_trials,
    read_trial_progress,
    summarize_study,
)
from candle_lib.report.status import Study

__all__ = [
    "summarize_prepared",
    "overview_table",
    "balance_table",
    "summary_html",
    "plot_label_balance",
    "read_trial_progress",
    "TrialProgress",
    "summarize_study",
    "format_status",
    "planned_trials",
    "Study",
    "render_page",
    "make_server",
]
