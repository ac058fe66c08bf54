# Production inference: the final model (or each saved trial of an ensemble) is exported with
# every piece of its fitted preprocessing (results/production/<name>/{model.keras,
# preprocessing.json}); new samples (infer.input) then go through exactly that preprocessing
# and the model(s), into results/infer/predictions.tsv.


wildcard_constraints:
    deployed="final|[0-9a-f]{12}",


rule export_model:
    input:
        unpack(get_export_inputs),
    output:
        model="results/production/{deployed}/model.keras",
        preprocessing="results/production/{deployed}/preprocessing.json",
    log:
        "results/logs/export_model/{deployed}.log",
    conda:
        "../envs/data.yaml"
    params:
        source=config["data"]["source"],
    script:
        "../scripts/export_model.py"


rule predict_samples:
    input:
        samples=get_new_samples,
        bundles=expand(rules.export_model.output.preprocessing, deployed=INFER_MODELS),
    output:
        "results/infer/predictions.tsv",
    log:
        "results/logs/infer.log",
    benchmark:
        "results/benchmarks/infer.tsv"
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
        format=config["infer"]["format"],
        orientation=config["infer"]["orientation"],
    script:
        "../scripts/predict_samples.py"


rule infer:
    input:
        get_infer_predictions,
