# Config loading and validation, then the input functions of the rules, grouped by stage.
# Which trials each target needs is planned by candle_lib.study.StudyPlan (plain Python, unit
# tested); this file only turns its answers into file paths, and waits for the checkpoints
# whose outputs the plan reads (Bayesian rounds, the search's best, the TDA groups).
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, workflow.basedir)

from candle_lib.config import read_yaml, validate_config
from candle_lib.data.drug_prepared import DRUG_FILES
from candle_lib.data.prepared import PREPARED_FILES, preparation_options
from candle_lib.data.sources import ingest_options
from candle_lib.data.config_checks import SOURCE_FILES
from candle_lib.errors import CandleInputError
from candle_lib.hpc.workers import job_tasks, job_threads, mpi_resource, workers_of
from candle_lib.search.plots import plot_file_name
from candle_lib.study import TRIAL_FILES, StudyPlan
from candle_lib.tda.options import GROUP_ANALYSES

# The embedded default config is read only when no --configfile is given: a config given on the
# command line is complete on its own (no silent merging of search spaces with the defaults).
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


try:
    # Each config file read again, strictly: Snakemake keeps a duplicated key's last value.
    for _configfile in workflow.configfiles:
        read_yaml(_configfile)
    config = validate_config(
        config, f"{workflow.basedir}/config/schema/config.schema.yaml"
    )
    STUDY = StudyPlan(config, "results")
except CandleInputError as error:
    raise WorkflowError(f"invalid config: {error}") from None

PREP_ID = STUDY.prep_id
DATA_VARIANTS = STUDY.variants
SUMMARY_PREP = STUDY.summary_prep
DRUG_RESPONSE = STUDY.drug_response
BAYESIAN = STUDY.bayesian
TRIALS_PER_JOB = STUDY.trials_per_job
BUNDLES = STUDY.bundles
ROUNDS_DIR = str(STUDY.rounds_dir)
RAW = "results/raw/synthetic"
DRUG_TABLES = ("responses", "cell_features", "drug_features")
INGESTED = "results/data/ingested"


wildcard_constraints:
    trial_id="[0-9a-f]{12}",
    bundle="bundle-[0-9a-f]{12}",
    prep="prep-[0-9a-f]{8}",


# Categories of the report (rules/report.smk). A result joins the report with report(),
# a caption under report/ and one of these (docs/monitoring.md, "The report").
REPORT_DATA = "1. Data"
REPORT_HPO = "2. Hyperparameter search"
REPORT_CV = "3. Cross-validation"
REPORT_UQ = "4. Uncertainty quantification"
REPORT_TDA = "5. Training-data analysis"
REPORT_FINAL = "6. Final test"


def trial_files(trials, name):
    return STUDY.trial_files(trials, name)


# A result's trials are inputs of its target too (hpo, cv, uq, tda; all and report include
# them). Snakemake re-runs a job whose output is missing only when a job that runs needs that
# output, so a trial deleted after its table was written would otherwise stay missing while the
# table lists it ("Nothing to be done"). A target with no output and a missing input runs, so
# the trial's job runs again, and so does every job that reads the trial (the aggregate, and
# what follows). Targets record no metadata, so what they list may follow the disk.
def reported_trials(ids):
    """Every file of the trials ``ids`` (the producer is train_trial)."""
    return [path for name in TRIAL_FILES.values() for path in trial_files(ids, name)]


# ---- Data (rules/data.smk)
def prepared_files(prep):
    """The files of one prepared-dataset variant, by name without extension."""
    names = DRUG_FILES if DRUG_RESPONSE else PREPARED_FILES
    return {
        name.split(".")[0]: f"results/data/prepared/{prep}/{name}" for name in names
    }


def get_source_inputs(wildcards):
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


def get_gene_list(wildcards):
    gene_list = DATA_VARIANTS[wildcards.prep]["filters"]["gene_list"]
    return {"gene_list": gene_list} if gene_list else {}


# ---- Trials (rules/train.smk)
def trial_spec_of(trial_id):
    try:
        return STUDY.spec(trial_id)
    except KeyError as error:
        raise WorkflowError(error.args[0]) from None


def get_trial_inputs(wildcards):
    """A trial's prepared dataset, and the trial it starts from when it fine-tunes one."""
    spec = trial_spec_of(wildcards.trial_id)
    inputs = prepared_files(spec["data"])
    if "init" in spec["role"]:
        inputs["init"] = f"results/trials/{spec['role']['init']}/metrics.json"
    return inputs


def bundle_record(bundle):
    return f"results/hpo/bundles/{bundle}.json"


def bundle_done(bundle):
    """A stamp train_bundle writes beside its record; temp(), so gone once the run that asked
    for it is over: a target lists it for a bundle whose record exists while one of its trials
    is incomplete, which makes the bundle run again (it skips its finished trials)."""
    return f"results/hpo/bundles/{bundle}.done"


def get_bundle_dataset(wildcards):
    return prepared_files(STUDY.trials[BUNDLES[wildcards.bundle][0]]["data"])


def bundle_specs(wildcards):
    return {tid: STUDY.trials[tid] for tid in BUNDLES[wildcards.bundle]}


# ---- Hyperparameter search (rules/hpo.smk)
def round_ids(r):
    """Trial ids of Bayesian round r (waits for the round's proposal checkpoint)."""
    checkpoints.propose_round.get(r=r)
    return STUDY.round_ids(r)


def hpo_trial_ids():
    if not BAYESIAN:
        return list(STUDY.hpo_trials)
    return list(
        dict.fromkeys(tid for r in range(STUDY.n_rounds) for tid in round_ids(r))
    )


def get_earlier_rounds(wildcards):
    """A round's proposals come from every earlier round's points and trial metrics."""
    earlier = range(int(wildcards.r))
    ids = list(dict.fromkeys(tid for k in earlier for tid in round_ids(k)))
    return {
        "rounds": [str(STUDY.round_file(k)) for k in earlier],
        "metrics": trial_files(ids, "metrics.json"),
    }


def get_hpo_results(wildcards):
    """The aggregate's inputs: every trial's files, or, with bundles, each bundle's record (the
    trials of a bundle are not outputs of their own)."""
    if BUNDLES:
        return {"bundles": [bundle_record(bundle) for bundle in BUNDLES]}
    ids = hpo_trial_ids()
    return {
        "metrics": trial_files(ids, "metrics.json"),
        "params": trial_files(ids, "params.json"),
    }


def get_hpo_trials(wildcards):
    """The search's trials, for the hpo target: with bundles, the stamp of each bundle that has
    an incomplete trial (a bundle's trials are no job's outputs)."""
    if BUNDLES:
        return [
            bundle_done(bundle)
            for bundle, members in BUNDLES.items()
            if STUDY.incomplete_trials(members)
        ]
    return reported_trials(hpo_trial_ids())


def get_best_dataset(wildcards):
    """The prepared variant of the best trial (known once aggregation has run)."""
    checkpoints.aggregate_hpo.get()
    return prepared_files(STUDY.best()["data"])


def hpo_plot(name):
    """A search plot (results/hpo/plots), flagged for the report with its kind's caption."""
    kind = "by_trial" if name == plot_file_name("trial") else "by_param"
    return report(
        f"results/hpo/plots/{name}",
        caption=f"../report/hpo_objective_{kind}.rst",
        category=REPORT_HPO,
        labels={"result": name.removesuffix(".png")},
    )


# ---- Cross-validation (rules/cv.smk): the fold trials of the model section, planned from the
# config, or of the search's best, known once aggregate_hpo has run.
CV = config["cv"]


def cv_trial_ids():
    if STUDY.cv_from_best:
        checkpoints.aggregate_hpo.get()
    return STUDY.cv_trial_ids()


def get_cv_inputs(wildcards):
    ids = cv_trial_ids()
    prep = trial_spec_of(ids[0])["data"]
    return {
        "samples": prepared_files(prep)["samples"],
        "metrics": trial_files(ids, "metrics.json"),
        "predictions": trial_files(ids, "predictions.parquet"),
    }


def get_cv_trials(wildcards):
    return reported_trials(cv_trial_ids())


def cv_folds_by_trial(wildcards):
    return {trial_spec_of(tid)["role"]["fold"]: tid for tid in cv_trial_ids()}


# ---- Uncertainty quantification (rules/uq.smk)
UQ = STUDY.uq
UQ_DIR = "results/uq"


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


def get_uq_inputs(wildcards):
    ids = [member["trial_id"] for member in UQ.members]
    inputs = {
        "metrics": trial_files(ids, "metrics.json"),
        "predictions": trial_files(ids, "predictions.parquet"),
    }
    if UQ.mc_trial:
        inputs["mc_dropout"] = f"{UQ_DIR}/mc_dropout/samples.parquet"
    return inputs


def get_uq_trials(wildcards):
    return reported_trials(member["trial_id"] for member in UQ.members)


def get_uq_config_error(wildcards):
    raise WorkflowError(f"invalid config: {STUDY.uq_error}")


# ---- Training-data analysis (rules/tda.smk): the analyses that need no groups are planned
# from the config; the group analyses once checkpoint tda_groups has written the groups.
TDA_DIR = "results/tda"
TDA_GROUPS = str(STUDY.tda_groups_file)
TDA_ANALYSES = STUDY.tda_analyses
TDA_SCORING = {"metric": STUDY.tda_metric, "split": config["tda"]["split"]}
TDA_CURVES = {"learning_curve": "learning_curve", "noise_curve": "noise"}


def tda_points(analysis):
    if analysis in GROUP_ANALYSES:
        checkpoints.tda_groups.get()
    return STUDY.tda_points(analysis)


def get_tda_trial_inputs(analysis):
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


def get_tda_trials(wildcards):
    ids = [
        point["trial"] for analysis in TDA_ANALYSES for point in tda_points(analysis)
    ]
    return reported_trials(dict.fromkeys(ids))


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


def get_tda_representation_metrics(wildcards):
    return trial_files([tda_points("representation")[0]["trial"]], "metrics.json")[0]


# ---- Production inference (rules/infer.smk): the models infer.models names, and their inputs.
# A model that no target plans but that lies in results/trials joins the plan from its
# params.json, so that the DAG knows it (and retrains it when its prepared dataset changed).
INFER_MODELS = STUDY.infer_model_names()
try:
    STUDY.add_trials(STUDY.saved_trials(INFER_MODELS))
except CandleInputError as error:
    raise WorkflowError(f"invalid config: {error}") from None


def get_export_inputs(wildcards):
    """A deployed model's trial (metrics.json; model.keras beside it), its prepared dataset,
    and the ingested genes the normalization reads."""
    if DRUG_RESPONSE:
        raise WorkflowError(
            "production inference serves expression models; drug-response models join several tables"
        )
    if wildcards.deployed == "final":
        inputs = get_best_dataset(wildcards)
        inputs["trial"] = "results/hpo/final/metrics.json"
    else:
        inputs = prepared_files(trial_spec_of(wildcards.deployed)["data"])
        inputs["trial"] = f"results/trials/{wildcards.deployed}/metrics.json"
    inputs["genes"] = f"{INGESTED}/features.parquet"
    inputs["values"] = f"{INGESTED}/values.npy"
    return inputs


def get_new_samples(wildcards):
    if not config["infer"]["input"]:
        raise WorkflowError(
            "config key 'infer.input': set it to the table of the samples to predict"
        )
    return config["infer"]["input"]


def get_infer_predictions(wildcards):
    """The predictions, once every model of infer.models is known (checked here, in the target,
    so that an unknown one is an error even when an older predictions file exists)."""
    for name in INFER_MODELS:
        if name != "final":
            trial_spec_of(name)
    return rules.predict_samples.output[0]


# A trial of strategy multi_worker trains over resources.workers_per_trial workers
# (candle_lib.hpc.workers, docs/clusters.md): its job asks for the threads, memory and GPUs of all
# of them; with a launcher (srun, mpiexec, jsrun) each worker is a task of the job (tasks,
# and the `mpi` resource, so that the SLURM job step runs the job's own launcher).
def trial_workers(wildcards):
    return workers_of(trial_spec_of(wildcards.trial_id), config["resources"])


def final_workers(wildcards):
    """The final retraining's workers: the search's may be multi_worker (set, or searched)."""
    multi = (
        "strategy" in STUDY.searched_keys()
        or config["model"].get("strategy") == "multi_worker"
    )
    return config["resources"]["workers_per_trial"] if multi else 1


def job_memory(workers):
    return lambda wildcards: config["resources"]["trial_mem_mb"] * workers(wildcards)


def job_gpus(workers):
    return lambda wildcards: KERAS_GPUS * workers(wildcards)
