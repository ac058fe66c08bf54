"""Progress of a study, read from its trial directories while it runs (CANDLE's "dashboard
reporting progress"): trials done, running and failed, the best so far, the rate of completed
trials, an estimate of the time left, and the slowest and failed trials with their reasons.

Everything comes from files (DESIGN.md section 3), so the summary works on a study that is
running, finished, interrupted, or running on another machine with a shared file system:

- a trial is *done* when its ``metrics.json`` exists (written last, atomically): ``ok`` or
  ``failed`` with its ``failure_reason``;
- a trial is *running* when its directory holds anything else (``params.json``, ``trial.log``, a
  checkpoint) but no ``metrics.json``; one whose files have not changed for ``stale_after``
  seconds is counted as *stalled* (its job was probably killed; Snakemake reruns it and it
  resumes from its checkpoint);
- the *planned* trials are those of the config's search (:func:`candle_lib.search.methods.plan_search`),
  when a config is given; without one, the total is unknown and every trial directory counts.

The rate is completed trials per second of *busy time*: the length of the union of the time
intervals during which at least one trial ran (a done trial ran from ``finish - wall_seconds``
to ``finish``, its ``metrics.json`` modification time; a running one from its ``params.json``
modification time to its last file change). Idle gaps between sessions of a resumed study do not
dilute the rate, and trials running side by side are counted once. Time left = trials not done
(running or pending) / rate.

No TensorFlow, no Snakemake: this reads JSON files and file times only.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

TRIAL_ID = re.compile(r"^[0-9a-f]{12}$")
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)\b")
STALE_AFTER = 900.0  # seconds without a file change before a running trial counts as stalled
N_SLOWEST = 5
HOLDOUT_KIND = "holdout"  # the role of search trials (candle_lib.trial.spec.HOLDOUT)


@dataclass
class TrialProgress:
    """One trial directory as the status command sees it."""

    trial_id: str
    state: str  # ok | failed | running | stalled
    params: dict = field(default_factory=dict)  # the hyperparameters the study varies
    objective: float | None = None  # the study's objective metric (done, ok trials)
    wall_seconds: float | None = None  # done trials: from metrics.json; running: elapsed so far
    epochs_run: int | None = None
    epoch: str | None = None  # running trials: "k/N", the last epoch line of trial.log
    started: float | None = None  # epoch seconds
    finished: float | None = None  # epoch seconds (metrics.json modification time)
    last_activity: float | None = None  # epoch seconds of the newest file change
    failure_reason: str | None = None
    role: str | None = None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _newest_change(directory: Path) -> float | None:
    """The newest modification time of the directory's files, one level of subdirectories
    (a checkpoint) included."""
    times = []
    for path in [directory, *directory.iterdir()]:
        try:
            times.append(path.stat().st_mtime)
            if path.is_dir() and path != directory:
                times.extend(p.stat().st_mtime for p in path.iterdir())
        except OSError:
            continue
    return max(times) if times else None


def _last_epoch(log: Path) -> str | None:
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, os.path.getsize(log) - 16384))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        match = EPOCH_LINE.match(line.strip())
        if match:
            return f"{match.group(1)}/{match.group(2)}"
    return None


def _objective_value(metrics: dict, metric: str | None):
    if metrics.get("status") != "ok":
        return None
    if metric is None:
        value = (metrics.get("objective") or {}).get("value")
    else:
        value = (metrics.get("metrics") or {}).get(metric)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def read_trial_progress(
    directory, *, metric: str | None = None, now: float | None = None, stale_after: float = STALE_AFTER
) -> TrialProgress:
    """The state of one trial directory (see the module docstring). ``metric`` is the study's
    objective metric; None takes the trial's own ``objective`` entry."""
    d = Path(directory)
    now = time.time() if now is None else now
    spec = _read_json(d / "params.json") or {}
    role = (spec.get("role") or {}).get("kind")
    metrics_path = d / "metrics.json"
    metrics = _read_json(metrics_path) if metrics_path.exists() else None
    last = _newest_change(d)
    trial = TrialProgress(
        trial_id=d.name, state="running", params=dict(spec.get("params") or {}), last_activity=last, role=role
    )
    if spec.get("data") is not None:
        trial.params["data"] = spec["data"]
    if metrics is not None:
        finished = metrics_path.stat().st_mtime
        wall = metrics.get("wall_seconds")
        trial.state = "ok" if metrics.get("status") == "ok" else "failed"
        trial.objective = _objective_value(metrics, metric)
        trial.wall_seconds = float(wall) if isinstance(wall, (int, float)) else None
        trial.epochs_run = metrics.get("epochs_run")
        trial.finished = finished
        trial.started = finished - trial.wall_seconds if trial.wall_seconds is not None else None
        trial.failure_reason = metrics.get("failure_reason") if trial.state == "failed" else None
        if trial.state == "failed" and not trial.failure_reason:
            trial.failure_reason = f"status {metrics.get('status')!r}, no reason recorded"
        return trial
    params_path = d / "params.json"
    started = params_path.stat().st_mtime if params_path.exists() else last
    trial.started = started
    trial.epoch = _last_epoch(d / "trial.log")
    if started is not None and last is not None:
        trial.wall_seconds = max(0.0, last - started)
    if last is not None and now - last > stale_after:
        trial.state = "stalled"
    return trial


def busy_seconds(intervals) -> float:
    """The length of the union of (start, end) intervals."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted((s, e) for s, e in intervals if s is not None and e is not None and e >= s):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


def trial_directories(root) -> list[Path]:
    """Trial directories under ``root``: ``root/trials/<id>`` (a results folder), or
    ``root/<id>`` (a trials folder itself)."""
    root = Path(root)
    base = root / "trials" if (root / "trials").is_dir() else root
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and TRIAL_ID.match(p.name))


def _varied(trials: list[TrialProgress]) -> list[str]:
    """Hyperparameters whose values differ between the trials (in first-seen order); trials
    that have not written their params.json yet do not count."""
    trials = [t for t in trials if t.params]
    names = list(dict.fromkeys(name for t in trials for name in t.params))
    varied = []
    for name in names:
        values = {json.dumps(t.params.get(name), sort_keys=True) for t in trials}
        if len(values) > 1:
            varied.append(name)
    return varied


def _role_counts(trials: list[TrialProgress]) -> dict:
    """{role kind: {state: count}} ("starting": trials without params.json yet)."""
    roles: dict = {}
    for t in trials:
        by_state = roles.setdefault(t.role or "starting", {})
        by_state[t.state] = by_state.get(t.state, 0) + 1
    return dict(sorted(roles.items()))


def _roles(dirs) -> dict:
    """Role counts of every trial directory (those of other workflows too): states from the
    presence of metrics.json only, without reading more."""
    trials = []
    for d in dirs:
        spec = _read_json(d / "params.json") or {}
        metrics = _read_json(d / "metrics.json") if (d / "metrics.json").exists() else None
        state = "running" if metrics is None else ("ok" if metrics.get("status") == "ok" else "failed")
        trials.append(TrialProgress(trial_id=d.name, state=state, role=(spec.get("role") or {}).get("kind")))
    return _role_counts(trials)


def study_objective(root, config: dict | None = None) -> dict | None:
    """{metric, direction} of the study: the config's ``hpo.objective``, else the one recorded in
    ``results/hpo/best.json``; None when neither is known (each trial's own objective is used)."""
    if config is not None:
        objective = config.get("hpo", {}).get("objective")
        if objective:
            return {"metric": objective["metric"], "direction": objective["direction"]}
    best = _read_json(Path(root) / "hpo" / "best.json")
    if best and best.get("objective"):
        return {"metric": best["objective"]["metric"], "direction": best["objective"]["direction"]}
    return None


def summarize_study(
    root,
    *,
    objective: dict | None = None,
    planned: list[str] | int | None = None,
    varied: list[str] | None = None,
    now: float | None = None,
    stale_after: float = STALE_AFTER,
    n_slowest: int = N_SLOWEST,
) -> dict:
    """The study summary the status command prints and the dashboard serves, as plain JSON data.

    ``objective``: {metric, direction} (see :func:`study_objective`); ``planned``: the trial ids
    of the configured search (only those are counted; others are reported as ``n_other``), or
    just their number, or None when unknown; ``varied``: the searched dimensions (the config's
    ``hpo.space``; ``data.*`` ones show as the prepared variant ``data``), else the
    hyperparameters whose values differ between the trials so far.
    """
    now = time.time() if now is None else now
    metric = objective["metric"] if objective else None
    direction = objective["direction"] if objective else None
    dirs = trial_directories(root)
    planned_ids = set(planned) if isinstance(planned, (list, tuple, set, frozenset, dict)) else None
    n_other = 0
    if planned_ids is not None:
        n_other = sum(d.name not in planned_ids for d in dirs)
        dirs = [d for d in dirs if d.name in planned_ids]
    roles = _roles(trial_directories(root)) if planned_ids is not None else None
    trials = [read_trial_progress(d, metric=metric, now=now, stale_after=stale_after) for d in dirs]
    if roles is None:
        roles = _role_counts(trials)
    if direction is None:
        directions = {(_read_json(d / "metrics.json") or {}).get("objective", {}).get("direction") for d in dirs}
        directions.discard(None)
        direction = directions.pop() if len(directions) == 1 else "minimize"
        if metric is None:
            metrics = {(_read_json(d / "metrics.json") or {}).get("objective", {}).get("metric") for d in dirs}
            metrics.discard(None)
            metric = metrics.pop() if len(metrics) == 1 else "objective"
    counts = {state: sum(t.state == state for t in trials) for state in ("ok", "failed", "running", "stalled")}
    done = counts["ok"] + counts["failed"]
    total = len(planned_ids) if planned_ids is not None else (planned if isinstance(planned, int) else None)
    remaining = max(0, total - done) if total is not None else None  # not done: running or not started
    pending = max(0, remaining - counts["running"] - counts["stalled"]) if total is not None else None

    finished = sorted((t for t in trials if t.finished is not None), key=lambda t: (t.finished, t.trial_id))
    # the best of the search: holdout trials, where there are any (not CV folds, UQ members, ...)
    searched = HOLDOUT_KIND if any(t.role == HOLDOUT_KIND for t in trials) else None
    history = []
    best_value = None
    sign = 1.0 if direction == "minimize" else -1.0
    best_trial = None
    for t in finished:
        if searched is not None and t.role != searched:
            continue
        if t.objective is not None and (best_value is None or sign * t.objective < sign * best_value):
            best_value, best_trial = t.objective, t
        history.append(
            {
                "n": len(history) + 1,
                "trial_id": t.trial_id,
                "state": t.state,
                "objective": t.objective,
                "best": best_value,
                "finished": t.finished,
            }
        )

    intervals = [(t.started, t.finished) for t in finished]
    intervals += [(t.started, t.last_activity) for t in trials if t.finished is None]
    busy = busy_seconds(intervals)
    rate = done / busy if done and busy > 0 else None
    eta = remaining / rate if rate and remaining is not None else None

    if varied is None:
        varied = _varied(trials)
    else:
        varied = list(dict.fromkeys("data" if name.startswith("data.") else name for name in varied))
    slowest = sorted((t for t in finished if t.wall_seconds is not None), key=lambda t: (-t.wall_seconds, t.trial_id))[
        :n_slowest
    ]

    def brief(t: TrialProgress) -> dict:
        row = asdict(t)
        row["params"] = {name: t.params.get(name) for name in varied}
        return row

    order = {"ok": 0, "failed": 1, "running": 2, "stalled": 3}
    return {
        "root": str(root),
        "generated": now,
        "objective": {"metric": metric, "direction": direction},
        "counts": {**counts, "done": done, "total": total, "pending": pending, "other": n_other},
        "roles": roles,
        "best": None
        if best_trial is None
        else {
            "trial_id": best_trial.trial_id,
            "value": best_value,
            "params": {n: best_trial.params.get(n) for n in varied},
        },
        "busy_seconds": busy,
        "rate_per_hour": rate * 3600 if rate else None,
        "eta_seconds": eta,
        "varied": varied,
        "history": history,
        "slowest": [brief(t) for t in slowest],
        "failed": [brief(t) for t in finished if t.state == "failed"],
        "running": [brief(t) for t in trials if t.state in ("running", "stalled")],
        "trials": [brief(t) for t in sorted(trials, key=lambda t: (order[t.state], t.finished or 0, t.trial_id))],
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _value(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in params.items())


def format_status(summary: dict, *, max_failed: int = 10) -> str:
    """The status command's text (docs/monitoring.md)."""
    c = summary["counts"]
    objective = summary["objective"]
    lines = [f"study {summary['root']}: objective {objective['metric']} ({objective['direction']})"]
    of_total = "" if c["total"] is None else f" of {c['total']}"
    line = f"trials: {c['done']}{of_total} done ({c['ok']} ok, {c['failed']} failed), {c['running']} running"
    if c["stalled"]:
        line += f", {c['stalled']} stalled"
    lines.append(line + ("; total unknown (give --config)" if c["pending"] is None else f", {c['pending']} pending"))
    if c["other"]:
        lines.append(f"  ({c['other']} other trial directories are not part of this search)")
    if len(set(summary["roles"]) - {"starting"}) > 1:  # trials of other workflows too
        parts = [
            f"{kind} " + "/".join(f"{n} {state}" for state, n in sorted(states.items()))
            for kind, states in summary["roles"].items()
        ]
        lines.append("all trial directories by role: " + ", ".join(parts))
    best = summary["best"]
    if best:
        lines.append(
            f"best so far: {objective['metric']}={_value(best['value'])}  trial {best['trial_id']}  {_params_text(best['params'])}".rstrip()
        )
    else:
        lines.append("best so far: none (no trial finished ok yet)")
    rate = summary["rate_per_hour"]
    if rate:
        eta = summary["eta_seconds"]
        eta_text = "unknown (total unknown)" if eta is None else ("done" if c["total"] == c["done"] else _duration(eta))
        lines.append(
            f"rate: {rate:.1f} trials/h over {_duration(summary['busy_seconds'])} of running time; time left: {eta_text}"
        )
    else:
        lines.append("rate: no trial finished yet; time left: unknown")
    if summary["slowest"]:
        lines.append("slowest:")
        for t in summary["slowest"]:
            lines.append(
                f"  {t['trial_id']}  {_duration(t['wall_seconds']):>9}  {t['state']:<6}  {_params_text(t['params'])}".rstrip()
            )
    if summary["running"]:
        lines.append("running:")
        for t in summary["running"]:
            epoch = f"epoch {t['epoch']}" if t["epoch"] else "starting"
            idle = summary["generated"] - t["last_activity"] if t["last_activity"] else None
            state = (
                " STALLED (job killed? rerun the workflow: it resumes from the checkpoint)"
                if t["state"] == "stalled"
                else ""
            )
            lines.append(f"  {t['trial_id']}  {epoch}, last activity {_duration(idle)} ago{state}")
    if summary["failed"]:
        lines.append(f"failed ({len(summary['failed'])}):")
        for t in summary["failed"][:max_failed]:
            reason = str(t["failure_reason"]).replace("\n", "\n" + " " * (len(t["trial_id"]) + 4))
            lines.append(f"  {t['trial_id']}  {reason}")  # a command's stderr lines stay under the reason
        if len(summary["failed"]) > max_failed:
            lines.append(f"  ... and {len(summary['failed']) - max_failed} more (status --json lists them all)")
    return "\n".join(lines)


def planned_trials(config: dict) -> list[str] | int | None:
    """The trial ids of a validated config's search (grid, random, upf; the same ids as the
    workflow's, which plans the validated config too), or the number of trials of a Bayesian one (rounds x per round; their ids are not known in advance)."""
    from candle_lib.search.methods import plan_search
    from candle_lib.search.rounds import bayesian_options

    hpo = config["hpo"]
    if hpo["method"] == "bayesian":
        options = bayesian_options(hpo)
        return options["rounds"] * options["per_round"]
    return list(plan_search(config).trials)
