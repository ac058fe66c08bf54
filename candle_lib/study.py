"""The study planner: which trials each target of a validated config needs, by content-addressed
id. Plain Python: the rules call it (rules/common.smk), and so can ``candle plan`` or a notebook.

Most trials are known from the config alone (the search, unless Bayesian; the UQ members; CV of
the model section; the training-data analyses that need no groups). Some are known only once an
earlier step has written a file in the results folder:

- the trials of each Bayesian round: ``results/hpo/rounds/round_<r>.upf`` (:meth:`round_trials`);
- CV of the search's best configuration: ``results/hpo/best.json`` (:meth:`best_cv_trials`);
- the group analyses of training-data analysis: ``results/tda/groups.json``
  (:meth:`tda_group_plan`);
- models named by ``infer.models`` that lie in ``results/trials`` (:meth:`saved_trials`).

Those files are re-read only when they change (their modification time). A trial two targets
ask for has one id, so it is planned (and run) once. The planner knows nothing of Snakemake:
waiting for the step that writes a file is the workflow's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from candle_lib.cv import cv_params, cv_trials
from candle_lib.data.config_checks import is_drug_response
from candle_lib.errors import CandleInputError
from candle_lib.params.declared import config_specs
from candle_lib.search.bundles import make_bundles
from candle_lib.search.data_variants import prep_id
from candle_lib.search.methods import data_variants, plan_search, varied_keys
from candle_lib.search.plots import plot_file_name
from candle_lib.search.rounds import bayesian_options, round_trials
from candle_lib.search.upf import read_upf
from candle_lib.tda.options import GROUP_ANALYSES, analyses, metric_of
from candle_lib.tda.plan import plan_trials, tda_plan
from candle_lib.trial.spec import TRIAL_FILES, missing_trial_files, trial_id
from candle_lib.uq.ensembles import uq_plan

__all__ = ["TRIAL_FILES", "StudyPlan"]


class StudyPlan:
    """The trials of every target of one validated config, and where its results lie.

    ``results`` is the results folder (``results`` relative to the workflow's directory)."""

    def __init__(self, config: dict, results: str | Path = "results"):
        self.config = config
        self.results = Path(results)
        self._file_cache: dict[Path, tuple[int, object]] = {}
        data = config["data"]
        self.prep_id = prep_id(data)
        self.drug_response = is_drug_response(data)

        hpo = config["hpo"]
        self.bayesian = hpo["method"] == "bayesian"
        self.search = None if self.bayesian else plan_search(config)
        self.hpo_trials: dict[str, dict] = self.search.trials if self.search else {}
        self.n_rounds = bayesian_options(hpo)["rounds"] if self.bayesian else 0
        # prep id -> the data config of that prepared variant (data.* search dimensions)
        self.variants = {self.prep_id: data, **(self.search.variants if self.search else data_variants(config))}
        # the variant the report's data summary describes: the search's first (a search over
        # data.* options may never prepare the base config's own variant), else the base one
        self.summary_prep = next(iter(self.search.variants), self.prep_id) if self.search else self.prep_id
        self.trials_per_job = 1 if self.bayesian else hpo.get("trials_per_job", 1)
        # fixed chunks of the search, one job each (hpo.trials_per_job > 1)
        self.bundles = make_bundles(self.hpo_trials, self.trials_per_job) if self.trials_per_job > 1 else {}

        # every trial known from the config alone, by id
        self.trials: dict[str, dict] = dict(self.hpo_trials)
        try:  # only the uq target needs a valid uq section
            self.uq = uq_plan(config, self.prep_id, drug_response=self.drug_response)
            self.uq_error = None
            self.trials.update(self.uq.trials)
        except CandleInputError as error:
            self.uq, self.uq_error = None, error

        self.cv = config["cv"]
        self.cv_from_best = self.cv["params"] == "best"
        self.cv_trials = (
            {}
            if self.cv_from_best
            else self.cv_fold_trials(cv_params(self.cv, config["model"], specs=config_specs(config)), self.prep_id)
        )
        self.trials.update(self.cv_trials)

        self.tda = tda_plan(config, self.prep_id)
        self.tda_metric = metric_of(config)
        self.tda_analyses = analyses(config)
        self.trials.update(plan_trials(self.tda))

    # ---- files written by earlier steps, re-read when they change
    def _read(self, path: Path, parse: Callable[[Path], object]):
        stamp = path.stat().st_mtime_ns
        cached = self._file_cache.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, parse(path))
            self._file_cache[path] = cached
        return cached[1]

    @property
    def rounds_dir(self) -> Path:
        return self.results / "hpo" / "rounds"

    @property
    def best_file(self) -> Path:
        return self.results / "hpo" / "best.json"

    @property
    def tda_groups_file(self) -> Path:
        return self.results / "tda" / "groups.json"

    def round_file(self, r: int) -> Path:
        return self.rounds_dir / f"round_{r}.upf"

    def round_trials(self) -> dict[str, dict]:
        """{trial id: spec} of the Bayesian rounds written so far ({} for other methods)."""
        if not self.bayesian:
            return {}
        files = sorted(self.rounds_dir.glob("round_*.upf"), key=lambda p: int(p.stem[len("round_") :]))
        rounds = [self._read(path, read_upf) for path in files]
        key = tuple((str(path), path.stat().st_mtime_ns) for path in files)
        cached = self._file_cache.get(self.rounds_dir)
        if cached is None or cached[0] != key:
            cached = (key, round_trials(self.config, rounds))
            self._file_cache[self.rounds_dir] = cached
        return cached[1]

    def round_ids(self, r: int) -> list[str]:
        """The trial ids round r proposes (its file must exist)."""
        return [row["id"] for row in self._read(self.round_file(r), read_upf)]

    def best(self) -> dict | None:
        """The search's best trial (results/hpo/best.json), or None before aggregation."""
        path = self.best_file
        return self._read(path, lambda p: json.loads(p.read_text())) if path.exists() else None

    # ---- cross-validation
    def cv_fold_trials(self, params: dict, prep: str) -> dict[str, dict]:
        n_folds = self.variants[prep]["splits"]["n_folds"]
        return cv_trials(params, prep, n_folds, self.cv["folds"])

    def best_cv_trials(self) -> dict[str, dict]:
        """The fold trials of the search's best configuration once best.json exists, else {}."""
        best = self.best() if self.cv_from_best else None
        if best is None:
            return {}
        return self.cv_fold_trials(
            cv_params(self.cv, self.config["model"], best, specs=config_specs(self.config)), best["data"]
        )

    def cv_trial_ids(self) -> list[str]:
        """The fold trials of the cv target (for ``cv.params: best``, once best.json exists)."""
        return list(self.best_cv_trials() if self.cv_from_best else self.cv_trials)

    # ---- training-data analysis
    def tda_group_plan(self) -> dict:
        """The group analyses' plan ({analysis: (points, specs)}) once the groups are known."""
        path = self.tda_groups_file
        if not path.exists():
            return {}
        plan = self._read(path, lambda p: tda_plan(self.config, self.prep_id, json.loads(p.read_text())["groups"]))
        return {analysis: plan[analysis] for analysis in GROUP_ANALYSES if analysis in plan}

    def tda_points(self, analysis: str) -> list[dict]:
        """The points of one analysis (a group analysis: once the groups are known)."""
        if analysis in GROUP_ANALYSES:
            return self.tda_group_plan()[analysis][0]
        return self.tda[analysis][0]

    # ---- production inference
    def infer_model_names(self) -> list[str]:
        """infer.models as bundle names: final, or the trial ids of an ensemble."""
        models = self.config["infer"]["models"]
        return ["final"] if models == "final" else [Path(m).name for m in models]

    def saved_trials(self, names: Iterable[str]) -> dict[str, dict]:
        """Trials of ``names`` that no target plans but that lie in results/trials, from their
        params.json (so that a model to serve whose prepared dataset changed is retrained)."""
        saved = {}
        for name in names:
            params = self.results / "trials" / name / "params.json"
            if name == "final" or name in self.trials or not params.exists():
                continue
            spec = json.loads(params.read_text())
            if trial_id(spec) != name:
                raise CandleInputError(f"{params} describes trial {trial_id(spec)}", where="infer.models")
            saved[name] = spec
        return saved

    def add_trials(self, specs: dict[str, dict]) -> list[str]:
        """Make trials known by id (a training two targets ask for is one job)."""
        self.trials.update(specs)
        return list(specs)

    # ---- lookups
    def later_trials(self) -> dict[str, dict]:
        """Every trial known so far from files that earlier steps wrote."""
        return {**self.round_trials(), **self.best_cv_trials(), **plan_trials(self.tda_group_plan())}

    def spec(self, trial: str) -> dict:
        """The spec of a trial by id, from the config or from the files written so far."""
        spec = self.trials.get(trial) or self.later_trials().get(trial)
        if spec is None:
            raise KeyError(f"trial {trial} is not part of the configured workflows ({self.results}/trials/{trial})")
        return spec

    def trial_files(self, trials: Iterable[str], name: str) -> list[str]:
        return [str(self.results / "trials" / tid / name) for tid in trials]

    def incomplete_trials(self, trials: Iterable[str]) -> list[str]:
        """The trials whose directory lacks one of TRIAL_FILES (never run, deleted, or cut
        short): read from the disk each time, as the workflow asks before each run."""
        return [tid for tid in trials if missing_trial_files(self.results / "trials" / tid)]

    # ---- what the search's tables show
    def searched_keys(self) -> list[str]:
        return varied_keys(self.config)

    def data_columns(self) -> dict[str, dict]:
        """{prep id: {data.<key>: value}} of the data options the search varies (trials.tsv)."""
        keys = [key for key in self.searched_keys() if key.startswith("data.")]
        columns = {}
        for prep, data in self.variants.items():
            row = {}
            for key in keys:
                node = data
                for part in key[len("data.") :].split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                row[key] = node
            columns[prep] = row
        return columns

    def search_plot_names(self) -> list[str]:
        return [plot_file_name(name) for name in ["trial", *self.searched_keys()]]

    def counts(self) -> dict[str, int]:
        """Trials per target known from the config alone (Bayesian and best-CV trials appear
        once their files exist)."""
        return {
            "hpo": len(self.hpo_trials) or len(self.round_trials()),
            "cv": len(self.cv_trial_ids()),
            "uq": len(self.uq.trials) if self.uq else 0,
            "tda": len(plan_trials(self.tda)) + len(plan_trials(self.tda_group_plan())),
            "distinct": len({**self.trials, **self.later_trials()}),
        }
