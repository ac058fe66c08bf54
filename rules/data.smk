# Data: generate or read raw counts -> validate -> split -> normalize, transform, filter, encode.


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


rule ingest_counts:
    input:
        unpack(raw_inputs),
    output:
        counts="results/data/ingested/counts.npy",
        genes="results/data/ingested/genes.parquet",
        samples="results/data/ingested/samples.parquet",
    log:
        "results/logs/ingest_counts.log",
    conda:
        "../envs/data.yaml"
    params:
        sheet=config["data"]["sample_sheet"],
        orientation=config["data"]["files"]["orientation"],
    script:
        "../scripts/ingest_counts.py"


rule assign_splits:
    input:
        samples=rules.ingest_counts.output.samples,
    output:
        "results/data/splits.parquet",
    log:
        "results/logs/assign_splits.log",
    conda:
        "../envs/data.yaml"
    params:
        splits=config["data"]["splits"],
        sheet=config["data"]["sample_sheet"],
    script:
        "../scripts/assign_splits.py"


rule prepare_dataset:
    input:
        counts=rules.ingest_counts.output.counts,
        genes=rules.ingest_counts.output.genes,
        samples=rules.ingest_counts.output.samples,
        splits=rules.assign_splits.output[0],
    output:
        **prepared_files("{prep}"),
    log:
        "results/logs/prepare_dataset/{prep}.log",
    conda:
        "../envs/data.yaml"
    params:
        data=config["data"],
    script:
        "../scripts/prepare_dataset.py"
