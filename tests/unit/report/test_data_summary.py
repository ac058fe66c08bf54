"""The data summary's numbers on a hand-made sample table (the summary inside the Snakemake report
is checked by tests/workflow/test_report.py)."""

from __future__ import annotations

import pandas as pd

from candle_lib.report.data_summary import balance_table, summarize_prepared


def test_data_summary_counts_labels_per_split():
    samples = pd.DataFrame(
        {
            "label": ["tumor", "normal", "tumor", "tumor", "normal", "tumor", "tumor"],
            "split": ["train", "train", "train", "val", "val", "test", "train"],
        }
    )
    manifest = {
        "prep_id": "prep-12345678",
        "classes": ["normal", "tumor"],
        "n_genes_in": 500,
        "n_features": 120,
        "preparation": {
            "normalization": "tpm",
            "transform": "log2p1",
            "filters": {"top_variance": 120},
            "labels": {"encoding": "one_hot"},
        },
    }
    summary = summarize_prepared(manifest, samples)
    assert summary["samples"] == 7 and summary["genes_in"] == 500 and summary["genes_kept"] == 120
    assert (summary["normalization"], summary["transform"], summary["label_encoding"]) == ("tpm", "log2p1", "one_hot")
    assert summary["splits"] == {"train": 4, "val": 2, "test": 1}
    assert summary["label_counts"] == {
        "normal": {"train": 1, "val": 1, "test": 0, "total": 2},
        "tumor": {"train": 3, "val": 1, "test": 1, "total": 5},
    }
    table = balance_table(summary)
    assert list(table["label"]) == ["normal", "tumor"] and list(table["share"]) == [round(2 / 7, 3), round(5 / 7, 3)]
