"""A prepared dataset at a glance, for the report: samples, genes (in and kept), the
normalization and transform used, the label encoding, and the label balance in each split.

Reads the prepared manifest and sample table only (pandas, matplotlib; no TensorFlow).
"""

from __future__ import annotations

import json

import pandas as pd

from candle_lib.atomic import atomic_path
from candle_lib.render import html_page

SPLITS = ("train", "val", "test")


def summarize_prepared(manifest: dict, samples: pd.DataFrame) -> dict:
    """The summary of one prepared dataset (its ``manifest.json`` and ``samples.parquet``)."""
    preparation = manifest.get("preparation", {})
    labels = samples["label"].astype(str) if "label" in samples else pd.Series(["(no label)"] * len(samples))
    splits = samples["split"].astype(str) if "split" in samples else pd.Series(["all"] * len(samples))
    order = [s for s in SPLITS if s in set(splits)] + sorted(set(splits) - set(SPLITS))
    classes = [str(c) for c in manifest.get("classes") or sorted(set(labels))]
    counts = {
        label: {split: int(((labels == label) & (splits == split)).sum()) for split in order} for label in classes
    }
    for label in classes:
        counts[label]["total"] = int((labels == label).sum())
    return {
        "prep_id": manifest.get("prep_id"),
        "samples": int(len(samples)),
        "genes_in": manifest.get("n_genes_in"),
        "genes_kept": manifest.get("n_features", (manifest.get("shape") or [None, None])[1]),
        "normalization": preparation.get("normalization"),
        "transform": preparation.get("transform"),
        "filters": preparation.get("filters"),
        "label_encoding": (preparation.get("labels") or {}).get("encoding"),
        "classes": classes,
        "splits": {split: int((splits == split).sum()) for split in order},
        "label_counts": counts,
    }


def overview_table(summary: dict) -> pd.DataFrame:
    """One row per property of the dataset (item, value)."""
    rows = [
        ("prepared variant", summary["prep_id"]),
        ("samples", summary["samples"]),
        ("genes in the source", summary["genes_in"]),
        ("genes kept (features)", summary["genes_kept"]),
        ("normalization", summary["normalization"]),
        ("transform", summary["transform"]),
        ("filters", json.dumps(summary["filters"], sort_keys=True)),
        ("label encoding", summary["label_encoding"]),
        ("samples per split", ", ".join(f"{k} {v}" for k, v in summary["splits"].items())),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def balance_table(summary: dict) -> pd.DataFrame:
    """Samples per label (rows) and split (columns), with the total and each label's share."""
    table = pd.DataFrame.from_dict(summary["label_counts"], orient="index")
    table.index.name = "label"
    total = table["total"].sum()
    table["share"] = (table["total"] / total).round(3) if total else 0.0
    return table.reset_index()


def summary_html(summary: dict) -> str:
    return html_page("Data summary", [("Dataset", overview_table(summary)), ("Label balance", balance_table(summary))])


def plot_label_balance(summary: dict, path) -> None:
    """Bars of samples per split, stacked by label, with the count in each part."""
    from candle_lib.render import pyplot

    plt = pyplot()
    splits = list(summary["splits"])
    figure, axes = plt.subplots(figsize=(6, 3.6))
    bottom = [0] * len(splits)
    for label, counts in summary["label_counts"].items():
        heights = [counts[s] for s in splits]
        bars = axes.bar(splits, heights, bottom=bottom, label=label)
        axes.bar_label(bars, labels=[str(h) if h else "" for h in heights], label_type="center", fontsize=8)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axes.set_ylabel("samples")
    axes.set_title(
        f"{summary['samples']} samples, {summary['genes_kept']} genes kept ({summary['normalization']}, {summary['transform']})",
        fontsize=9,
    )
    axes.legend(title="label", fontsize=8, loc="best")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)
