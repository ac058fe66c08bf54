"""The Snakemake report: a tiny study runs, then `snakemake --report report.html` writes one
self-contained HTML file holding every flagged result with its caption, the data summary and
the workflow graph. Plus the data summary's numbers on a hand-made sample table."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from conftest import REPO, snakemake, tiny_config, write_config

CAPTIONS = sorted(p.name for p in (REPO / "report").glob("*.rst"))


def _script_json(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}">\s*var \w+ = (.*?);\s*</script>', html, re.S)
    assert match, f"no <script id={element_id}> in the report"
    return json.loads(match.group(1))


def _data(uri: str) -> bytes:
    return base64.b64decode(uri.split("base64,", 1)[1])


@pytest.mark.workflow
def test_report_is_self_contained_with_captions_plots_and_data_summary(tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config())
    snakemake(tmp_path, config)
    snakemake(tmp_path, config, "--report", "report.html")
    html = (tmp_path / "report.html").read_text()

    # self-contained: scripts and styles inline, nothing loaded from elsewhere
    assert not re.search(r"<script[^>]*\ssrc=", html) and not re.search(r"<link[^>]*\shref=", html)
    assert not re.search(r"""(src|href)=["']https?://""", html)

    results = _script_json(html, "results")
    expected = {
        "results/report/data_summary.html",
        "results/report/label_balance.png",
        "results/hpo/plots/objective_by_trial.png",
        "results/hpo/plots/objective_by_learning_rate.png",
        "results/report/hpo_trials.html",
        "results/report/final_metrics.html",
    }
    assert expected <= set(results)  # stages that other rules add (CV, UQ, TDA) join with their own
    for path, result in results.items():
        assert result["caption"].strip(), f"{path} has no caption"
        assert _data(result["data_uri"]) == (tmp_path / path).read_bytes(), f"{path} is not embedded as it is on disk"
    # captions are rendered from report/*.rst with the config filled in
    assert (
        "Optimization history: the objective val_loss" in results["results/hpo/plots/objective_by_trial.png"]["caption"]
    )
    assert "normalization (fpkm_uq)" in results["results/report/data_summary.html"]["caption"]
    categories = _script_json(html, "categories")
    assert {"1. Data", "2. Hyperparameter search", "6. Final test"} <= set(categories)
    assert {p for sub in categories["1. Data"].values() for p in sub} == {
        "results/report/data_summary.html",
        "results/report/label_balance.png",
    }
    assert {
        "workflow.rst",
        "data_summary.rst",
        "label_balance.rst",
        "hpo_trials.rst",
        "hpo_objective_by_trial.rst",
        "hpo_objective_by_param.rst",
        "final_metrics.rst",
    } <= set(CAPTIONS)

    # the data summary against the prepared dataset, counted here with pandas
    prepared = next((tmp_path / "results" / "data" / "prepared").glob("prep-*"))
    samples = pd.read_parquet(prepared / "samples.parquet")
    manifest = json.loads((prepared / "manifest.json").read_text())
    page = _data(results["results/report/data_summary.html"]["data_uri"]).decode()
    counts = pd.crosstab(samples["label"], samples["split"])
    for label in counts.index:
        cells = [str(counts.loc[label, split]) for split in ("train", "val", "test")] + [
            str(int((samples["label"] == label).sum()))
        ]
        assert f"<tr><td>{label}</td><td>" + "</td><td>".join(cells) + "</td>" in page
    assert f"<tr><td>samples</td><td>{len(samples)}</td></tr>" in page
    assert f"<tr><td>genes kept (features)</td><td>{manifest['shape'][1]}</td></tr>" in page
    assert "<tr><td>genes in the source</td><td>200</td></tr>" in page  # tiny config: n_genes 200
    assert "<tr><td>normalization</td><td>fpkm_uq</td></tr>" in page

    # the final test metrics, as train_final wrote them
    final = json.loads((tmp_path / "results" / "hpo" / "final" / "metrics.json").read_text())
    final_page = _data(results["results/report/final_metrics.html"]["data_uri"]).decode()
    assert f"<tr><td>test_accuracy</td><td>{final['metrics']['test_accuracy']:.6g}</td></tr>" in final_page
    best = json.loads((tmp_path / "results" / "hpo" / "best.json").read_text())
    trials_page = _data(results["results/report/hpo_trials.html"]["data_uri"]).decode()
    assert f"<tr><td>best trial</td><td>{best['trial_id']}</td></tr>" in trials_page

    # the workflow graph and the workflow description
    graph = _script_json(html, "rulegraph")
    rules = {node["rule"] for node in graph["data"][0]["values"]}
    assert {"prepare_dataset", "train_trial", "aggregate_hpo", "train_final", "data_summary", "report_tables"} <= rules
    assert "CANDLE on Snakemake" in _script_json(html, "workflow-desc")

    # and it renders offline: headless Chromium with every network request sent to a dead proxy
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--proxy-server=127.0.0.1:9",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                (tmp_path / "report.html").as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        rendered = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", dom, flags=re.S)  # what the scripts built
        assert '<div id="loading-screen" style="display: none;">' in rendered
        app = rendered.split('<div id="app">', 1)[1]
        for category in ("1. Data", "2. Hyperparameter search", "6. Final test"):
            assert category in app
