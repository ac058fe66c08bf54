"""Tables of a search's results as small HTML pages for the Snakemake report: every trial of
the search (best first), and the final model's test metrics."""

from __future__ import annotations

import pandas as pd

from candle_lib.render import html_page


def trials_page(table: pd.DataFrame, best: dict) -> str:
    """The trials of ``trials.tsv``, ok ones sorted by the objective (best first), failed ones
    last with their reasons."""
    direction = best["objective"]["direction"]
    ok = table[table["status"] == "ok"].sort_values("objective", ascending=direction == "minimize", kind="stable")
    ordered = pd.concat([ok, table[table["status"] != "ok"]])
    shown = ordered.drop(columns=[c for c in ("order",) if c in ordered.columns])
    note = pd.DataFrame(
        [
            ("objective", f"{best['objective']['metric']} ({direction})"),
            ("best trial", best["trial_id"]),
            ("best value", f"{best['objective']['value']:.6g}"),
            ("trials", f"{best['n_trials']} ({best['n_ok']} ok)"),
        ],
        columns=["item", "value"],
    )
    return html_page("Hyperparameter search", [("Summary", note), ("Trials (best first)", shown.fillna(""))])


def final_page(metrics: dict, params: dict) -> str:
    """The test metrics of the final model (the best configuration retrained on train+val)."""
    rows = [
        (name, f"{value:.6g}" if isinstance(value, float) else value)
        for name, value in sorted(metrics["metrics"].items())
    ]
    rows += [
        ("status", metrics["status"]),
        ("epochs run", metrics["epochs_run"]),
        ("training rows", metrics.get("n_train")),
        ("test rows", metrics.get("n_eval")),
        ("wall seconds", metrics["wall_seconds"]),
    ]
    hyper = pd.DataFrame(sorted(params.items()), columns=["hyperparameter", "value"]).astype(str)
    return html_page(
        "Final model on the test set",
        [("Test metrics", pd.DataFrame(rows, columns=["metric", "value"]).astype(str)), ("Hyperparameters", hyper)],
    )
