"""The ``candle`` command (also ``python -m candle_lib``): one trial outside Snakemake, and the
hyperparameters a parameter file resolves to.

    candle trial --data results/data/prepared/prep-XXXXXXXX --params nt3_default_model.txt \\
                 --set epochs=20 --out results/cli-trials
    candle params --params nt3_default_model.txt --set drop=0.2
    candle params --config config.yaml            # with who declared and set each one
    candle plan --config config/examples/hpo_grid_11664.yaml --upf grid.upf
    candle status results/ --config config.yaml      # progress of a running study
    candle serve results/ --config config.yaml       # the same as a live web page
    candle retry-failed results/ [--dry-run]         # failed trials aside: the next run re-runs them
    candle devices [--json]                          # TensorFlow's build, its GPUs, their mixed precision

Hyperparameters come from the defaults, overridden by a config's ``model:`` section (``candle
params --config``, which also brings the hyperparameters its model declares), by ``--params`` (a
CANDLE INI, YAML or JSON file), then by ``--set`` (see :mod:`candle_lib.params.layers`). The
CANDLE keys that are ignored are named in one ``candle: warning:`` line. Bad input ends with one
line ``candle: error: ...`` and exit code 2; a trial that trains but fails (diverged, timed
out) is a result, written like any other, and exits with code 1; a trial stopped by the
machine (a full disk, an I/O error: not a result, nothing recorded, its checkpoint kept) ends
with one line ``candle: error: ...`` and exit code 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from candle_lib.errors import CandleInputError
from candle_lib.params.candle_ini import ignored_warning
from candle_lib.params.layers import INI_SUFFIXES, MAPPING_SUFFIXES, ResolvedParams, resolve_layers
from candle_lib.params.specs import ParamSpecs
from candle_lib.trial.spec import FINAL, HOLDOUT, trial_id, trial_spec

EXIT_TRIAL_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3
ROLES = {"holdout": HOLDOUT, "final": FINAL}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_param_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params",
        metavar="FILE",
        help=f"parameter file: a CANDLE *_default_model.txt INI file ({', '.join(INI_SUFFIXES)}) or a YAML/JSON mapping "
        f"of hyperparameters ({', '.join(MAPPING_SUFFIXES)}), e.g. a trial's params.json; without it, the defaults (CANDLE NT3)",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override one hyperparameter (repeatable); VALUE is a Python literal or a bare word, "
        "e.g. --set epochs=20 --set 'conv=[32, 5, 1]' --set optimizer=adam; CANDLE names such as drop are accepted",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="candle", description="CANDLE on Snakemake: run one trial, or inspect hyperparameters."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    trial = commands.add_parser(
        "trial",
        help="train and evaluate one trial on a prepared dataset, outside Snakemake",
        description="Train and evaluate one trial. Results go to OUT/<trial id>/ (params.json, metrics.json, history.csv, "
        "predictions.parquet, scaler.json, trial.log); the id is the one the workflow would give the same trial.",
    )
    trial.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="prepared dataset directory, e.g. results/data/prepared/prep-XXXXXXXX",
    )
    _add_param_options(trial)
    trial.add_argument(
        "--role",
        choices=sorted(ROLES),
        default="holdout",
        help="holdout: train on train, evaluate on val (as an HPO trial); final: train on train+val, evaluate once on test (default: holdout)",
    )
    trial.add_argument("--out", required=True, metavar="DIR", help="parent directory of the trial directory")
    trial.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        metavar="N",
        help="CPU threads for TensorFlow (default: 1, as the workflow)",
    )
    trial.set_defaults(run=run_trial_command)

    params = commands.add_parser(
        "params",
        help="print the resolved hyperparameters as JSON",
        description="Print the hyperparameters that defaults < the config's model section < --params < --set resolve to, "
        "as JSON on stdout; one line on stderr names the CANDLE keys that were ignored. With --config, stderr also lists "
        "each hyperparameter with its value, who declared it (built-in, the config, the model's module or benchmark file), "
        "which layer set it, and its help.",
    )
    _add_param_options(params)
    params.add_argument(
        "--config",
        metavar="YAML",
        help="a workflow config: its model section is the base layer, and the hyperparameters its model declares "
        "(the config's hyperparameters section, the builder module's HYPERPARAMETERS, a CANDLE benchmark's file) are known",
    )
    params.set_defaults(run=print_params_command)

    plan = commands.add_parser(
        "plan",
        help="plan a config's search: trials and prepared variants, optionally exported as UPF",
        description="Validate a workflow config and plan its search (grid, random or upf) as the workflow does: print how many "
        "trials and prepared-data variants it needs and how long planning took; --upf writes the trials as a CANDLE Supervisor "
        "UPF file (one JSON object per line: id = trial id, then the point), which method: upf reads back.",
    )
    plan.add_argument(
        "--config", required=True, metavar="YAML", help="a workflow config, e.g. config/examples/hpo_grid_11664.yaml"
    )
    plan.add_argument("--upf", metavar="FILE", help="write the planned trials here as UPF")
    plan.add_argument(
        "--results",
        default="results",
        metavar="DIR",
        help="the study's results folder, read for trials known from earlier steps (CV of the best, TDA groups); default: results",
    )
    plan.set_defaults(run=plan_command)

    from candle_lib.report.dashboard import add_serve_parser
    from candle_lib.report.status import add_status_parser

    add_status_parser(commands)
    add_serve_parser(commands)

    retry = commands.add_parser(
        "retry-failed",
        help="move the failed trials of a results folder aside, so that the next snakemake run re-runs them",
        description="Move every trial directory under RESULTS/trials whose metrics.json says status: failed to "
        "RESULTS/trials/.failed/<trial id>.<UTC time>/ (nothing is deleted), and remove the bundle records "
        "(RESULTS/hpo/bundles/*.json) that list one. The next snakemake run (the same command as before) re-runs exactly "
        "those trials and re-aggregates the search.",
    )
    retry.add_argument("results", metavar="RESULTS", help="the study's results folder, e.g. results")
    retry.add_argument("--dry-run", action="store_true", help="list what would be moved, move nothing")
    retry.set_defaults(run=retry_failed_command)

    devices = commands.add_parser(
        "devices",
        help="print the TensorFlow build, the GPUs it sees and the mixed precision each supports",
        description="Print the TensorFlow version and build (cpu, cuda or rocm) with its CUDA and cuDNN versions, the GPUs "
        "this TensorFlow sees (after CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES) with their compute capability and what "
        "mixed_precision: auto picks on each, and the variables that bind GPUs. Run it where the trials run (e.g. in a "
        "job on a GPU node) to check that their TensorFlow can use the GPUs.",
    )
    devices.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    devices.set_defaults(run=devices_command)
    return parser


def devices_command(args) -> int:
    import os

    from candle_lib.hpc.devices import devices_report, report_lines, tensorflow_build, visible_gpus

    report = devices_report(tensorflow_build(), visible_gpus(), os.environ)
    print(json.dumps(report, indent=2) if args.json else "\n".join(report_lines(report)), flush=True)
    return 0


def plan_command(args) -> int:
    import time

    from candle_lib.config import load_config
    from candle_lib.search.methods import plan_search
    from candle_lib.search.upf import upf_rows, write_upf
    from candle_lib.study import StudyPlan

    started = time.perf_counter()
    path = Path(args.config)
    if not path.is_file():
        raise CandleInputError("no such config file", source=args.config)
    config = load_config(path)  # strict YAML: a syntax error or a duplicated key names the file and line
    if config["hpo"]["method"] == "bayesian":
        raise CandleInputError(
            "a Bayesian search is planned round by round by the workflow (results/hpo/rounds/)", where="hpo.method"
        )
    searched = plan_search(config)
    seconds = time.perf_counter() - started
    print(
        f"{config['hpo']['method']} search: {len(searched.trials)} trials, {len(searched.variants)} prepared-data variants; planned in {seconds:.2f} s"
    )
    counts = StudyPlan(config, args.results).counts()
    targets = ", ".join(f"{target} {counts[target]}" for target in ("hpo", "cv", "uq", "tda"))
    print(f"trials by target: {targets}; {counts['distinct']} distinct (a training two targets share runs once)")
    if args.upf:
        write_upf(args.upf, upf_rows(searched.points))
        print(f"wrote {len(searched.points)} UPF rows to {args.upf}")
    return 0


def _report_ignored(resolved, log) -> None:
    line = ignored_warning(resolved.ignored)
    if line:
        log(f"candle: warning: {line}")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sources_table(resolved: ResolvedParams, specs: ParamSpecs) -> list[str]:
    """One line per hyperparameter: name, value, who declared it, which layer set it, help."""
    rows = [("hyperparameter", "value", "declared by", "set by", "help")]
    for name, value in resolved.params.items():
        spec = specs.by_name[name]
        rows.append((name, json.dumps(value), spec.source, resolved.set_by[name], spec.help))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4] for row in rows]


def _config_layers(path: str | None) -> tuple[ParamSpecs | None, dict, str]:
    """The hyperparameters a config knows, its model section, and how to name that layer."""
    if path is None:
        return None, {}, ""
    from candle_lib.config import load_config
    from candle_lib.params.declared import config_specs

    if not Path(path).is_file():
        raise CandleInputError("no such config file", source=path)
    config = load_config(path)
    return config_specs(config), config["model"], f"{path} (model)"


def print_params_command(args) -> int:
    specs, base, base_source = _config_layers(args.config)
    if specs is None:
        resolved = resolve_layers(args.params, args.set)
    else:
        resolved = resolve_layers(args.params, args.set, specs=specs, base=base, base_source=base_source)
    print(json.dumps(resolved.params, indent=2), flush=True)
    if specs is not None:
        for line in sources_table(resolved, specs):
            _stderr(line)
    _report_ignored(resolved, _stderr)
    return 0


def run_trial_command(args) -> int:
    from candle_lib.data.prepared import load_prepared

    resolved = resolve_layers(args.params, args.set)
    data_dir = Path(args.data).resolve()
    if not data_dir.is_dir():
        raise CandleInputError("no such prepared dataset directory", source=args.data)
    load_prepared(data_dir)  # checks the dataset before anything is written
    spec = trial_spec(resolved.params, role=ROLES[args.role], data=data_dir.name)
    out_dir = Path(args.out) / trial_id(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "trial.log", "a", buffering=1, encoding="utf-8") as log_file:

        def log(message: str) -> None:
            _stderr(message)
            print(message, file=log_file)

        log(f"parameters: defaults < {args.params or '(no file)'} < --set {' '.join(args.set) or '(none)'}")
        _report_ignored(resolved, log)
        from candle_lib.trial.run import infrastructure_error, run_trial

        try:
            result = run_trial(data_dir, spec, out_dir, threads=args.threads, log=log)
        except Exception as exc:
            cause = infrastructure_error(exc)
            if cause is None:
                raise
            print(
                f"candle: error: trial {out_dir.name} stopped by the machine, not a result: {type(cause).__name__}: "
                f"{cause}; nothing recorded: run the same command again to resume from its checkpoint",
                file=sys.stderr,
            )
            return EXIT_INFRASTRUCTURE
    objective = result["objective"]
    print(f"trial {out_dir.name} {result['status']}: {objective['metric']}={objective['value']}; results in {out_dir}")
    if result["status"] != "ok":
        print(f"trial failed: {result['failure_reason']}", file=sys.stderr)
        return EXIT_TRIAL_FAILED
    return 0


FAILED_DIR = ".failed"  # under RESULTS/trials; not a trial id, so no rule or report reads it


def failed_trials(trials_dir: Path) -> dict[str, str]:
    """{trial id: failure reason} of the trial directories whose metrics.json says failed."""
    failed = {}
    for metrics_path in sorted(trials_dir.glob("*/metrics.json")):
        if metrics_path.parent.name.startswith("."):
            continue
        try:
            metrics = json.loads(metrics_path.read_text())
        except (OSError, ValueError) as exc:
            raise CandleInputError(f"cannot read it ({exc})", source=str(metrics_path)) from None
        if isinstance(metrics, dict) and metrics.get("status") == "failed":
            failed[metrics_path.parent.name] = str(metrics.get("failure_reason"))
    return failed


def bundles_listing(bundles_dir: Path, trial_ids) -> list[Path]:
    """The bundle records (``{trial id: status}``) that list one of ``trial_ids``."""
    wanted, records = set(trial_ids), []
    for record in sorted(bundles_dir.glob("*.json")) if bundles_dir.is_dir() else []:
        try:
            members = json.loads(record.read_text())
        except (OSError, ValueError) as exc:
            raise CandleInputError(f"cannot read this bundle record ({exc})", source=str(record)) from None
        if wanted & set(members):
            records.append(record)
    return records


def retry_failed_command(args) -> int:
    import time

    results = Path(args.results)
    trials_dir = results / "trials"
    if not trials_dir.is_dir():
        raise CandleInputError(
            "no trials folder (RESULTS/trials) here: give the study's results folder", source=str(results)
        )
    failed = failed_trials(trials_dir)
    records = bundles_listing(results / "hpo" / "bundles", failed)
    if not failed:
        print(f"no failed trials in {trials_dir}")
        return 0
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {len(failed)} failed trial(s) aside:")
    for tid, reason in failed.items():
        target = trials_dir / FAILED_DIR / f"{tid}.{stamp}"
        suffix = 1
        while target.exists():
            suffix += 1
            target = trials_dir / FAILED_DIR / f"{tid}.{stamp}-{suffix}"
        if not args.dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            (trials_dir / tid).rename(target)
        print(f"  {tid} -> {target}  ({reason})")
    for record in records:
        if not args.dry_run:
            record.unlink()
        print(f"{'would remove' if args.dry_run else 'removed'} the bundle record {record}")
    if not args.dry_run:
        print("the next snakemake run (the same command as before) re-runs these trials and re-aggregates the search")
    return 0


def console_main() -> None:
    """The ``candle`` console script (and ``python -m candle_lib``): :func:`main`, then the end
    of the process without TensorFlow's teardown when a command loaded it
    (:func:`candle_lib.process_exit.end_process`)."""
    from candle_lib.process_exit import end_process

    end_process(main())


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CandleInputError as exc:
        print(f"candle: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
