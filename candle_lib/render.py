"""Drawing and page helpers shared by every stage's figures and tables: matplotlib's Agg backend
(no display needed) and small self-contained HTML pages of tables for Snakemake's report."""

from __future__ import annotations

import html

import pandas as pd


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = (
    "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1.2em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}"
)


def html_page(title: str, sections: list[tuple[str, pd.DataFrame]]) -> str:
    """A small self-contained HTML page of titled tables (shown inline by Snakemake's report)."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
    ]
    parts.append(f"<h2>{html.escape(title)}</h2>")
    for heading, frame in sections:
        parts.append(f"<h3>{html.escape(heading)}</h3>{_html_table(frame)}")
    return "".join(parts) + "</body></html>\n"
