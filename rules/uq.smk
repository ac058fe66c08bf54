# Uncertainty quantification: an ensemble of MEMBER trials (by seed, bootstrap resample or
# training fraction; members may carry gaussian or quantile regression heads), MC dropout of one
# saved member, then predictive mean, aleatoric/epistemic variance, calibration, coverage and
# recalibration on the val rows -> results/uq/. Target: uq.
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


if UQ is not None and UQ.mc_trial:

    rule uq_mc_dropout:
        input:
            metrics=f"results/trials/{UQ.mc_trial}/metrics.json",
            manifest=prepared_files(PREP_ID)["manifest"],
            matrix=prepared_files(PREP_ID)["matrix"],
            samples=prepared_files(PREP_ID)["samples"],
        output:
            samples=f"{UQ_DIR}/mc_dropout/samples.parquet",
        log:
            "results/logs/uq_mc_dropout.log",
        conda:
            "../envs/train.yaml"
        threads: config["resources"]["trial_threads"]
        resources:
            mem_mb=config["resources"]["trial_mem_mb"],
        params:
            passes=config["uq"]["mc_dropout"]["passes"],
            seed=config["uq"]["mc_dropout"]["seed"],
        script:
            "../scripts/uq_mc_dropout.py"


if UQ is not None:

    rule aggregate_uq:
        input:
            unpack(uq_inputs),
        output:
            **uq_outputs(),
        log:
            "results/logs/aggregate_uq.log",
        conda:
            "../envs/data.yaml"
        params:
            task=UQ.task,
            members=UQ.members,
            trials_root="results/trials",
            levels=config["uq"]["levels"],
            bins=config["uq"]["ece_bins"],
        script:
            "../scripts/uq_aggregate.py"

    rule uq:
        input:
            rules.aggregate_uq.output,

else:

    rule uq:
        input:
            uq_config_error,
