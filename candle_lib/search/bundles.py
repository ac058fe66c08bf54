"""Bundling short trials into jobs (``hpo.trials_per_job``).

A job costs a process start and a TensorFlow import (seconds); a search of thousands of short
trials spends more on that than on training. A bundle runs K trials one after another in one
process. Bundles are fixed chunks of the search (per prepared variant, in search order), with ids
hashed from their members, so the same search always makes the same bundles; a bundle job skips
every member that is finished (its metrics.json is newer than its prepared data), so a finished
trial is never run again when a changed search regroups the bundles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from candle_lib.trial.spec import missing_trial_files


def is_finished(trial_dir: Path, manifest: Path) -> bool:
    """The trial directory holds every file of a trial (TRIAL_FILES), and its metrics.json was
    written after its prepared dataset was last written."""
    if missing_trial_files(trial_dir):
        return False
    metrics = trial_dir / "metrics.json"
    return not manifest.exists() or metrics.stat().st_mtime >= manifest.stat().st_mtime


def bundle_id(members: list[str]) -> str:
    return "bundle-" + hashlib.sha256(",".join(members).encode()).hexdigest()[:12]


def make_bundles(trials: Mapping[str, Mapping], size: int) -> dict[str, list[str]]:
    """{bundle id: [trial ids]}: ``size`` trials at most per bundle, each bundle of one prepared
    variant, in search order."""
    if size < 1:
        raise ValueError("trials_per_job must be at least 1")
    by_variant: dict[str, list[str]] = {}
    for trial_id, spec in trials.items():
        by_variant.setdefault(spec["data"], []).append(trial_id)
    bundles = {}
    for members in by_variant.values():
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            bundles[bundle_id(chunk)] = chunk
    return bundles
