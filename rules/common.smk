# Config loading and validation, the trial registry, and input functions shared by the rules.
import functools
import json
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, workflow.basedir)

from candle_lib.config import validate_config
from candle_lib.cv import cv_params, cv_trials
from candle_lib.data.config_checks import SOURCE_FILES, is_drug_response
from candle_lib.data.drug_prepared import DRUG_FILES
from candle_lib.data.prepared import PREPARED_FILES, preparation_options
from candle_lib.data.sources import ingest_options
from candle_lib.errors import CandleInputError
from candle_lib.search.plots import plot_file_name
from candle_lib.search.bundles import make_bundles
from candle_lib.search.methods import data_variants, plan_search, prep_id, varied_keys
from candle_lib.search.rounds import bayesian_options, round_trials
from candle_lib.search.upf import read_upf

# The embedded default config is read only when no --configfile is given: a config given on the
# command line is complete on its own (no silent merging of search spaces with the defaults).
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


try:
    config = validate_config(
        config, f"{workflow.basedir}/config/schema/config.schema.yaml"
    )
    PREP_ID = prep_id(config["data"])
    PLAN = plan_search(config) if config["hpo"]["method"] != "bayesian" else None
    HPO_TRIALS = PLAN.trials if PLAN else {}
    # prep id -> the data config of that prepared variant (data.* search dimensions)
    DATA_VARIANTS = {
        PREP_ID: config["data"],
        **(PLAN.variants if PLAN else data_variants(config)),
    }
except CandleInputError as error:
    raise WorkflowError(f"invalid config: {error}") from None

# The prepared variant the report's data summary describes: the search's first (a search over
# data.* options may never prepare the base config's own variant), else the base config's.
SUMMARY_PREP = next(iter(PLAN.variants), PREP_ID) if PLAN else PREP_ID

# Every trial that any target needs, by content-addressed id; a trial shared between
# workflows is one job. Bayesian trials join round by round (proposed_trials).
TRIALS = {**HPO_TRIALS}
BAYESIAN = config["hpo"]["method"] == "bayesian"
N_ROUNDS = bayesian_options(config["hpo"])["rounds"] if BAYESIAN else 0
ROUNDS_DIR = "results/hpo/rounds"
TRIALS_PER_JOB = 1 if BAYESIAN else config["hpo"].get("trials_per_job", 1)
# the files every trial directory holds (DESIGN.md section 3), besides its log
TRIAL_FILES = {
    "params": "params.json",
    "metrics": "metrics.json",
    "history": "history.csv",
    "predictions": "predictions.parquet",
    "scaler": "scaler.json",
}
RAW = "results/raw/synthetic"
DRUG_RESPONSE = is_drug_response(config["data"])
DRUG_TABLES = ("responses", "cell_features", "drug_features")


wildcard_constraints:
    trial_id="[0-9a-f]{12}",
    bundle="bundle-[0-9a-f]{12}",
    prep="prep-[0-9a-f]{8}",


def prepared_files(prep):
    """The files of one prepared-dataset variant, by name without extension."""
    names = DRUG_FILES if DRUG_RESPONSE else PREPARED_FILES
    return {
        name.split(".")[0]: f"results/data/prepared/{prep}/{name}" for name in names
    }


def source_inputs(wildcards):
    """The input files of the configured source: generated, or the user's (data.files)."""
    data = config["data"]
    if DRUG_RESPONSE and data["source"] == "synthetic":
        return {name: f"{RAW}/{name}.tsv" for name in DRUG_TABLES}
    if data["source"] == "synthetic":
        return {
            "counts": f"{RAW}/counts.tsv.gz",
            "genes": f"{RAW}/genes.tsv",
            "samples": f"{RAW}/samples.tsv",
        }
    files = data["files"]
    return {key: files[key] for key in SOURCE_FILES[data["source"]] if files.get(key)}


def gene_list_input(wildcards):
    gene_list = DATA_VARIANTS[wildcards.prep]["filters"]["gene_list"]
    return {"gene_list": gene_list} if gene_list else {}


@functools.cache
def _rounds_read(stamps):
    return round_trials(config, [read_upf(path) for path, _ in stamps])


def proposed_trials():
    """{trial id: spec} of the Bayesian rounds written so far (re-read when a round changes)."""
    files = sorted(Path(ROUNDS_DIR).glob("round_*.upf"), key=lambda p: int(p.stem[6:]))
    return _rounds_read(tuple((str(p), p.stat().st_mtime_ns) for p in files))


# Trials known only once a checkpoint has run (e.g. CV of the HPO best): functions that return
# {trial id: spec} of what exists so far, registered by the workflows that need them.
LATER_TRIALS = []


def register_trials(specs):
    """Add a workflow's trials to the registry; a training two workflows ask for is one job."""
    TRIALS.update(specs)
    return list(specs)


def trial_spec_of(trial_id):
    spec = TRIALS.get(trial_id) or (
        proposed_trials().get(trial_id) if BAYESIAN else None
    )
    for later in LATER_TRIALS:
        spec = spec or later().get(trial_id)
    if spec is None:
        raise WorkflowError(
            f"trial {trial_id} is not part of the configured workflows (results/trials/{trial_id})"
        )
    return spec


def trial_inputs(wildcards):
    """A trial's prepared dataset, and the trial it starts from when it fine-tunes one."""
    spec = trial_spec_of(wildcards.trial_id)
    inputs = prepared_files(spec["data"])
    if "init" in spec["role"]:
        inputs["init"] = f"results/trials/{spec['role']['init']}/metrics.json"
    return inputs


def round_ids(r):
    """Trial ids of Bayesian round r (waits for the round's proposal checkpoint)."""
    upf = checkpoints.propose_round.get(r=r).output.upf
    return [row["id"] for row in read_upf(upf)]


def hpo_trial_ids():
    if not BAYESIAN:
        return list(HPO_TRIALS)
    return list(dict.fromkeys(tid for r in range(N_ROUNDS) for tid in round_ids(r)))


def earlier_rounds(wildcards):
    """A round's proposals come from every earlier round's points and trial metrics."""
    earlier = range(int(wildcards.r))
    ids = list(dict.fromkeys(tid for k in earlier for tid in round_ids(k)))
    return {
        "rounds": [f"{ROUNDS_DIR}/round_{k}.upf" for k in earlier],
        "metrics": trial_files(ids, "metrics.json"),
    }


def hpo_results(wildcards):
    """The aggregate's inputs: every trial's files, or, with bundles, each bundle's record (the
    trials of a bundle are not outputs of their own)."""
    if BUNDLES:
        return {"bundles": [bundle_record(bundle) for bundle in BUNDLES]}
    ids = hpo_trial_ids()
    return {
        "metrics": trial_files(ids, "metrics.json"),
        "params": trial_files(ids, "params.json"),
    }


def bundle_record(bundle):
    return f"results/hpo/bundles/{bundle}.json"


def bundle_dataset(wildcards):
    return prepared_files(TRIALS[BUNDLES[wildcards.bundle][0]]["data"])


def data_columns():
    """{prep id: {data.<key>: value}} of the data options the search varies (trials.tsv columns)."""
    keys = [key for key in varied_keys(config) if key.startswith("data.")]
    columns = {}
    for prep, data in DATA_VARIANTS.items():
        row = {}
        for key in keys:
            node = data
            for part in key[len("data.") :].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            row[key] = node
        columns[prep] = row
    return columns


def search_plot_names():
    return [plot_file_name(name) for name in ["trial", *varied_keys(config)]]


def best_dataset(wildcards):
    """The prepared variant of the best trial (known once aggregation has run)."""
    best = checkpoints.aggregate_hpo.get().output.best
    return prepared_files(json.loads(Path(best).read_text())["data"])


# Bundles of trials, one job each (hpo.trials_per_job > 1): fixed chunks of the search, each
# recorded in results/hpo/bundles/<bundle>.json; a bundle job skips its finished trials.
BUNDLES = make_bundles(TRIALS, TRIALS_PER_JOB) if TRIALS_PER_JOB > 1 else {}


def trial_files(trials, name):
    return [f"results/trials/{tid}/{name}" for tid in trials]


# Categories of the report (rules/report.smk). A result joins the report with report(),
# a caption under report/ and one of these (README, "The report").
REPORT_DATA = "1. Data"
REPORT_HPO = "2. Hyperparameter search"
REPORT_CV = "3. Cross-validation"
REPORT_UQ = "4. Uncertainty quantification"
REPORT_TDA = "5. Training-data analysis"
REPORT_FINAL = "6. Final test"


def hpo_plot(name):
    """A search plot (results/hpo/plots), flagged for the report with its kind's caption."""
    kind = "by_trial" if name == plot_file_name("trial") else "by_param"
    return report(
        f"results/hpo/plots/{name}",
        caption=f"../report/hpo_objective_{kind}.rst",
        category=REPORT_HPO,
        labels={"result": name.removesuffix(".png")},
    )


# ---- Production inference (rules/infer.smk): the models infer.models names, and their inputs.
from candle_lib.trial.spec import trial_id

INGESTED = "results/data/ingested"


def infer_model_names():
    """infer.models as bundle names: final, or the trial ids of an ensemble."""
    models = config["infer"]["models"]
    if models == "final":
        return ["final"]
    return [Path(m).name for m in models]


def register_saved_trials(names):
    """Trials of infer.models that no configured workflow asks for but that lie in
    results/trials join the registry from their params.json, so that the DAG knows them (and
    retrains one whose prepared dataset changed); others must come from a workflow's checkpoint.
    """
    saved = {}
    for name in names:
        params = Path(f"results/trials/{name}/params.json")
        if name == "final" or name in TRIALS or not params.exists():
            continue
        spec = json.loads(params.read_text())
        if trial_id(spec) != name:
            raise WorkflowError(
                f"config key 'infer.models': results/trials/{name}/params.json describes trial {trial_id(spec)}"
            )
        saved[name] = spec
    return register_trials(saved)


register_saved_trials(infer_model_names())


def export_inputs(wildcards):
    """A deployed model's trial (metrics.json; model.keras beside it), its prepared dataset,
    and the ingested genes the normalization reads."""
    if DRUG_RESPONSE:
        raise WorkflowError(
            "production inference serves expression models; drug-response models join several tables"
        )
    if wildcards.deployed == "final":
        inputs = best_dataset(wildcards)
        inputs["trial"] = "results/hpo/final/metrics.json"
    else:
        inputs = prepared_files(trial_spec_of(wildcards.deployed)["data"])
        inputs["trial"] = f"results/trials/{wildcards.deployed}/metrics.json"
    inputs["genes"] = f"{INGESTED}/features.parquet"
    inputs["values"] = f"{INGESTED}/values.npy"
    return inputs


def new_samples(wildcards):
    if not config["infer"]["input"]:
        raise WorkflowError(
            "config key 'infer.input': set it to the table of the samples to predict"
        )
    return config["infer"]["input"]


def predictions_of_known_models(wildcards):
    """The predictions, once every model of infer.models is known (checked here, in the target,
    so that an unknown one is an error even when an older predictions file exists)."""
    for name in infer_model_names():
        if name != "final":
            trial_spec_of(name)
    return rules.predict_samples.output[0]


# ---- Uncertainty quantification (rules/uq.smk): the members of the uq section, its outputs.
from candle_lib.uq.ensembles import uq_plan

UQ_DIR = "results/uq"

try:
    UQ = uq_plan(config, PREP_ID, drug_response=DRUG_RESPONSE)
    UQ_ERROR = None
    register_trials(UQ.trials)
except CandleInputError as error:  # only the uq target needs a valid uq section
    UQ, UQ_ERROR = None, error


def uq_plot(name):
    return report(
        f"{UQ_DIR}/{name}.png",
        caption=f"../report/uq_{name}.rst",
        category=REPORT_UQ,
        labels={"result": name.replace("_", " ")},
    )


def uq_outputs():
    """Tables of every UQ run, plus the plots (and interval table) of the members' task."""
    outputs = {
        "members": f"{UQ_DIR}/members.tsv",
        "summary": f"{UQ_DIR}/summary.tsv",
        "predictions": f"{UQ_DIR}/predictions.parquet",
    }
    if UQ.task == "regression":
        return {
            **outputs,
            "intervals": f"{UQ_DIR}/intervals.tsv",
            "calibration_curve": uq_plot("calibration_curve"),
        }
    return {
        **outputs,
        "reliability": uq_plot("reliability"),
        "risk_coverage": uq_plot("risk_coverage"),
    }


def uq_inputs(wildcards):
    ids = [member["trial_id"] for member in UQ.members]
    inputs = {
        "metrics": trial_files(ids, "metrics.json"),
        "predictions": trial_files(ids, "predictions.parquet"),
    }
    if UQ.mc_trial:
        inputs["mc_dropout"] = f"{UQ_DIR}/mc_dropout/samples.parquet"
    return inputs


def uq_config_error(wildcards):
    raise WorkflowError(f"invalid config: {UQ_ERROR}")


# Cross-validation (rules/cv.smk): the fold trials of the model section, registered now, or of
# the HPO best, known once aggregate_hpo has run.
CV = config["cv"]


def cv_fold_trials(params, prep):
    n_folds = DATA_VARIANTS[prep]["splits"]["n_folds"]
    return cv_trials(params, prep, n_folds, CV["folds"])


def best_cv_trials():
    """The fold trials of the HPO best, once results/hpo/best.json exists ({} before)."""
    path = Path("results/hpo/best.json")
    if CV["params"] != "best" or not path.exists():
        return {}
    best = json.loads(path.read_text())
    return cv_fold_trials(cv_params(CV, config["model"], best), best["data"])


if CV["params"] == "best":
    LATER_TRIALS.append(best_cv_trials)
else:
    CV_TRIALS = register_trials(cv_fold_trials(cv_params(CV, config["model"]), PREP_ID))


def cv_trial_ids():
    if CV["params"] != "best":
        return CV_TRIALS
    checkpoints.aggregate_hpo.get()
    return list(best_cv_trials())


def cv_inputs(wildcards):
    ids = cv_trial_ids()
    prep = trial_spec_of(ids[0])["data"]
    return {
        "samples": prepared_files(prep)["samples"],
        "metrics": trial_files(ids, "metrics.json"),
        "predictions": trial_files(ids, "predictions.parquet"),
    }


def cv_folds_by_trial(wildcards):
    return {trial_spec_of(tid)["role"]["fold"]: tid for tid in cv_trial_ids()}


# ---------------------------------------------------------------------------------------------
# Training-data analysis (rules/tda.smk): the plan of the analyses that need no groups is known
# at parse time; the group analyses' trials join once checkpoint tda_groups has written the
# groups (LATER_TRIALS).
from candle_lib.tda.plan import plan_trials, tda_plan
from candle_lib.tda.options import GROUP_ANALYSES, analyses, metric_of

TDA_DIR = "results/tda"
TDA_GROUPS = f"{TDA_DIR}/groups.json"
try:
    TDA_PLAN = tda_plan(config, PREP_ID)
    TDA_METRIC = metric_of(config)
    TDA_ANALYSES = analyses(config)
except CandleInputError as error:
    raise WorkflowError(f"invalid config: {error}") from None
register_trials(plan_trials(TDA_PLAN))
TDA_SCORING = {"metric": TDA_METRIC, "split": config["tda"]["split"]}
TDA_CURVES = {"learning_curve": "learning_curve", "noise_curve": "noise"}


@functools.cache
def _tda_group_plan(stamp):
    groups = json.loads(Path(TDA_GROUPS).read_text())["groups"]
    plan = tda_plan(config, PREP_ID, groups)
    return {a: plan[a] for a in GROUP_ANALYSES if a in plan}


def tda_group_plan():
    """The group analyses' plan once tda_groups has run, else {}."""
    path = Path(TDA_GROUPS)
    return _tda_group_plan(path.stat().st_mtime_ns) if path.exists() else {}


LATER_TRIALS.append(lambda: plan_trials(tda_group_plan()))


def tda_points(analysis):
    if analysis in GROUP_ANALYSES:
        checkpoints.tda_groups.get()
        return tda_group_plan()[analysis][0]
    return TDA_PLAN[analysis][0]


def tda_trial_inputs(analysis):
    """An analysis' trials (metrics and predictions), and the sample table for group scores."""

    def inputs(wildcards):
        name = TDA_CURVES.get(analysis, analysis)
        ids = list(dict.fromkeys(point["trial"] for point in tda_points(name)))
        files = {
            "metrics": trial_files(ids, "metrics.json"),
            "predictions": trial_files(ids, "predictions.parquet"),
        }
        if name in GROUP_ANALYSES:
            files.update(groups=TDA_GROUPS, samples=prepared_files(PREP_ID)["samples"])
        return files

    return inputs


def tda_plot(name):
    return report(
        f"{TDA_DIR}/{name}.png",
        caption=f"../report/tda_{name}.rst",
        category=REPORT_TDA,
        labels={"result": name.replace("_", " ")},
    )


def tda_outputs(analysis):
    """The files an analysis' target asks for: its tables, their pages in the report, plots."""
    files = {
        "learning_curve": [
            f"{TDA_DIR}/learning_curve.tsv",
            f"{TDA_DIR}/learning_curve.png",
        ],
        "noise": [f"{TDA_DIR}/noise_curve.tsv", f"{TDA_DIR}/noise_curve.png"],
        "group_matrix": [f"{TDA_DIR}/group_matrix.tsv", f"{TDA_DIR}/group_matrix.png"],
        "transfer": [f"{TDA_DIR}/transfer.tsv"],
        "representation": [f"{TDA_DIR}/representation.tsv"],
    }[analysis]
    tables = [Path(path).stem for path in files if path.endswith(".tsv")]
    return files + [f"results/report/tda/{table}.html" for table in tables]


def tda_representation_metrics(wildcards):
    return trial_files([tda_points("representation")[0]["trial"]], "metrics.json")[0]
