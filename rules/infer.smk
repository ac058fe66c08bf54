# Production inference: the final model (or each saved trial of an ensemble) is exported with
# every piece of its fitted preprocessing (results/production/<name>/{model.keras,
# preprocessing.json}); new samples (infer.input) then go through exactly that preprocessing
# and the model(s), into results/infer/predictions.tsv.

from candle_lib.params import trial_id

INGESTED = "results/data/ingested"


wildcard_constraints:
    deployed="final|[0-9a-f]{12}",


def infer_model_names():
    """infer.models as bundle names: final, or the trial ids of an ensemble."""
    models = config["infer"]["models"]
    if models == "final":
        return ["final"]
    return [m.rstrip("/").removeprefix("results/trials/") for m in models]


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


rule export_model:
    input:
        unpack(export_inputs),
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
        samples=new_samples,
        bundles=expand(
            rules.export_model.output.preprocessing, deployed=infer_model_names()
        ),
    output:
        "results/infer/predictions.tsv",
    log:
        "results/logs/infer.log",
    conda:
        "../envs/train.yaml"
    threads: config["resources"]["trial_threads"]
    resources:
        mem_mb=config["resources"]["trial_mem_mb"],
    params:
        format=config["infer"]["format"],
        orientation=config["infer"]["orientation"],
    script:
        "../scripts/infer_samples.py"


rule infer:
    input:
        predictions_of_known_models,
