# Uncertainty quantification: an ensemble of MEMBER trials (by seed, bootstrap resample or
# training fraction; members may carry gaussian or quantile regression heads), MC dropout of one
# saved member, then predictive mean, aleatoric/epistemic variance, calibration, coverage and
# recalibration on the val rows -> results/uq/. Target: uq. The plan and the input functions are
# in candle_lib.study and rules/common.smk ("Uncertainty quantification").
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
            TRAINING_ENV
        envmodules:
            *config["resources"]["envmodules"],
        threads: config["resources"]["trial_threads"]
        resources:
            mem_mb=config["resources"]["trial_mem_mb"],
            gpus=KERAS_GPUS,
            gpu=KERAS_GPUS,
        params:
            passes=config["uq"]["mc_dropout"]["passes"],
            seed=config["uq"]["mc_dropout"]["seed"],
        script:
            "../scripts/uq_mc_dropout.py"


if UQ is not None:

    rule aggregate_uq:
        input:
            unpack(get_uq_inputs),
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
            "../scripts/aggregate_uq.py"

    rule uq:
        input:
            rules.aggregate_uq.output,
            get_uq_trials,
            "results/report/uq/summary.html",

else:

    rule uq:
        input:
            get_uq_config_error,
