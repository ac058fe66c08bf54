# Data: generate or read the source -> validate -> split -> normalize, transform, filter, encode.
# Drug-response data take their own path: responses joined to two feature matrices by index.
# Tox21-like compounds share the expression path from ingestion on: their three feature blocks
# are ingested once; each prepared variant picks a block (data.features) and normalizes it.
# Every prepared variant (results/data/prepared/{prep}) takes its options from DATA_VARIANTS.
from candle_lib.data.config_checks import check_preparation, is_tox21
from candle_lib.data.synthetic_tox21 import RAW_FILES as TOX21_FILES

TOX21 = is_tox21(config["data"])

try:
    for _variant in DATA_VARIANTS.values():
        check_preparation(_variant)
except CandleInputError as error:
    raise WorkflowError(
        f"invalid config (a prepared variant of hpo.space): {error}"
    ) from None


# the generated compounds' files (tox21), else None: the source's files (get_source_inputs)
TOX21_RAW = (
    {name: f"{RAW}/tox21/{file}" for name, file in TOX21_FILES.items()}
    if TOX21
    else None
)


if DRUG_RESPONSE:

    rule synthesize_drug_response:
        output:
            **{name: f"{RAW}/{name}.tsv" for name in DRUG_TABLES},
        log:
            "results/logs/synthesize_drug_response.log",
        conda:
            "../envs/data.yaml"
        params:
            synthetic=config["data"].get("synthetic", {}),
        script:
            "../scripts/synthesize_drug_response.py"

    rule prepare_drug_response:
        input:
            unpack(get_source_inputs),
        output:
            **prepared_files("{prep}"),
        log:
            "results/logs/prepare_drug_response/{prep}.log",
        conda:
            "../envs/data.yaml"
        params:
            columns=config["data"]["drug_response"],
            splits=config["data"]["splits"],
        script:
            "../scripts/prepare_drug_response.py"

else:
    if TOX21:

        rule synthesize_compounds:
            output:
                **TOX21_RAW,
            log:
                "results/logs/synthesize_compounds.log",
            conda:
                "../envs/data.yaml"
            params:
                synthetic=config["data"]["synthetic"],
            script:
                "../scripts/synthesize_compounds.py"

    else:

        rule synthesize_cohort:
            output:
                counts=f"{RAW}/counts.tsv.gz",
                genes=f"{RAW}/genes.tsv",
                samples=f"{RAW}/samples.tsv",
            log:
                "results/logs/synthesize_cohort.log",
            conda:
                "../envs/data.yaml"
            params:
                synthetic=config["data"].get("synthetic", {}),
            script:
                "../scripts/synthesize_cohort.py"

    rule ingest_data:
        input:
            unpack(lambda wildcards: TOX21_RAW or get_source_inputs(wildcards)),
        output:
            values="results/data/ingested/values.npy",
            features="results/data/ingested/features.parquet",
            samples="results/data/ingested/samples.parquet",
        log:
            "results/logs/ingest_data.log",
        conda:
            "../envs/data.yaml"
        params:
            data=ingest_options(config["data"]),
        script:
            "../scripts/ingest_data.py"

    rule assign_splits:
        input:
            samples=rules.ingest_data.output.samples,
        output:
            "results/data/splits.parquet",
        log:
            "results/logs/assign_splits.log",
        conda:
            "../envs/data.yaml"
        params:
            splits=config["data"]["splits"],
        script:
            "../scripts/assign_splits.py"

    rule prepare_dataset:
        input:
            unpack(get_gene_list),
            values=rules.ingest_data.output.values,
            features=rules.ingest_data.output.features,
            samples=rules.ingest_data.output.samples,
            splits=rules.assign_splits.output[0],
        output:
            **prepared_files("{prep}"),
        log:
            "results/logs/prepare_dataset/{prep}.log",
        conda:
            "../envs/data.yaml"
        params:
            options=lambda wildcards: preparation_options(DATA_VARIANTS[wildcards.prep]),
        script:
            "../scripts/prepare_dataset.py"


rule data:
    input:
        **prepared_files(PREP_ID),
