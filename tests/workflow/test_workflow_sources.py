"""Each data source through the real Snakemake rules on tiny inputs: CANDLE's NT3 files (the
given test file stays the test split), counts with a GTF, a normalized matrix, the TC1-like
generator with an error-correcting label code, a gene list, and bad input stopping with one
message that names the file, leaving no output that looks complete."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import snakemake, tiny_config, write_config

from candle_lib.data.synthetic import synthetic_nt3_cohort

PREPARED = "results/data/prepared"


def prepared_dir(workdir):
    (directory,) = (workdir / PREPARED).iterdir()
    return directory


def run_data(workdir, config: dict):
    snakemake(workdir, write_config(workdir / "config.yaml", config), "data")
    directory = prepared_dir(workdir)
    return (
        np.load(directory / "matrix.npy"),
        pd.read_parquet(directory / "samples.parquet"),
        pd.read_parquet(directory / "features.parquet"),
        json.loads((directory / "manifest.json").read_text()),
    )


@pytest.fixture(scope="module")
def cohort():
    return synthetic_nt3_cohort(n_patients=30, n_genes=60, seed=5)


def write_sheet_and_genes(directory, cohort):
    cohort.samples.to_csv(directory / "samples.tsv", sep="\t", index=False)
    cohort.genes.to_csv(directory / "genes.tsv", sep="\t", index=False)


def test_candle_nt3_files_keep_their_test_file_as_the_test_split(tmp_path):
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.integers(0, 2, 24), rng.normal(size=(24, 12)).round(4)])
    test = np.column_stack([rng.integers(0, 2, 8), rng.normal(size=(8, 12)).round(4)])
    train[:2, 0], test[:2, 0] = [0, 1], [0, 1]  # both classes on both sides
    np.savetxt(tmp_path / "nt3_train.csv", train, delimiter=",", fmt="%g")
    np.savetxt(tmp_path / "nt3_test.csv", test, delimiter=",", fmt="%g")
    files = {"train": str(tmp_path / "nt3_train.csv"), "test": str(tmp_path / "nt3_test.csv"), "layout": "nt3"}
    config = tiny_config(
        data={
            "source": "candle",
            "files": files,
            "normalization": "none",
            "transform": "none",
            "filters": {"min_nonzero_samples": 0, "top_variance": None},
        }
    )
    matrix, samples, features, manifest = run_data(tmp_path, config)

    assert samples["sample_id"][samples["split"] == "test"].tolist() == [f"test_{i}" for i in range(8)]
    assert set(samples["split"][samples["sample_id"].str.startswith("train_")]) == {"train", "val"}
    np.testing.assert_array_equal(matrix, np.vstack([train[:, 1:], test[:, 1:]]).astype(np.float32))
    assert samples["label"].tolist() == [str(int(v)) for v in np.concatenate([train[:, 0], test[:, 0]])]
    assert features["feature_id"].tolist() == [f"f{i}" for i in range(12)]
    assert manifest["preparation"]["normalization"] == "none"


def test_counts_with_a_gtf_use_union_exon_lengths(tmp_path, cohort):
    write_sheet_and_genes(tmp_path, cohort)
    cohort.counts.reset_index().to_csv(tmp_path / "counts.tsv.gz", sep="\t", index=False)
    lines = []
    for gene in cohort.genes.itertuples():
        attributes = f'gene_id "{gene.gene_id}"; gene_type "{gene.gene_type}";'
        lines.append(f"chr1\tsyn\tgene\t1\t{gene.length + 50}\t.\t+\t.\t{attributes}")
        # two overlapping exons whose union is exactly the gene's length
        lines.append(f"chr1\tsyn\texon\t1\t{gene.length // 2 + 10}\t.\t+\t.\t{attributes}")
        lines.append(f"chr1\tsyn\texon\t{gene.length // 2}\t{gene.length}\t.\t+\t.\t{attributes}")
    (tmp_path / "genes.gtf").write_text("\n".join(lines) + "\n")
    files = {
        "counts": str(tmp_path / "counts.tsv.gz"),
        "genes": str(tmp_path / "genes.gtf"),
        "samples": str(tmp_path / "samples.tsv"),
    }
    config = tiny_config(
        data={"source": "counts", "files": files, "filters": {"min_nonzero_samples": 0, "top_variance": None}}
    )
    matrix, samples, features, _ = run_data(tmp_path, config)

    lengths = cohort.genes.set_index("gene_id")["length"]
    assert features["length"].tolist() == lengths.loc[features["feature_id"]].tolist()
    counts = cohort.counts.T.loc[samples["sample_id"], features["feature_id"]].to_numpy(dtype=np.float64)
    pc = (features["gene_type"] == "protein_coding").to_numpy()
    q75 = np.percentile(counts[:, pc], 75, axis=1)
    expected = np.log2(counts * 1e9 / (q75[:, None] * features["length"].to_numpy()[None, :]) + 1)
    np.testing.assert_allclose(matrix, expected, rtol=1e-6)


def test_a_normalized_matrix_with_a_gene_list(tmp_path, cohort):
    write_sheet_and_genes(tmp_path, cohort)
    values = np.log2(cohort.counts.T + 1.0).round(3)
    values.index.name = "sample_id"
    values.reset_index().to_csv(tmp_path / "matrix.csv", index=False)
    keep = cohort.genes["gene_id"].iloc[[3, 10, 11, 40]].tolist()
    (tmp_path / "landmarks.txt").write_text("# landmark genes\n" + "\n".join(keep + ["NOT_A_GENE"]) + "\n")
    files = {
        "matrix": str(tmp_path / "matrix.csv"),
        "samples": str(tmp_path / "samples.tsv"),
        "orientation": "samples_by_genes",
    }
    filters = {"min_nonzero_samples": 0, "top_variance": None, "gene_list": str(tmp_path / "landmarks.txt")}
    config = tiny_config(
        data={"source": "matrix", "files": files, "normalization": "none", "transform": "none", "filters": filters},
        model={"conv": [4, 2, 1], "pool": [1]},  # 4 landmark genes: the tiny model's kernel of 10 cannot fit
    )
    matrix, samples, features, _ = run_data(tmp_path, config)

    assert features["feature_id"].tolist() == keep
    np.testing.assert_array_equal(matrix, values.loc[samples["sample_id"], keep].to_numpy(dtype=np.float32))
    # grouped by patient: no patient straddles two splits
    assert samples.groupby("group")["split"].nunique().max() == 1


def test_tc1_cohort_trains_with_a_hamming3_code(tmp_path):
    config = tiny_config(data={"labels": {"encoding": "hamming3"}})
    config["data"]["synthetic"] = {
        "variant": "tc1",
        "n_types": 3,
        "samples_per_type": 16,
        "n_genes": 200,
        "markers_per_type": 15,
        "seed": 2,
    }
    config["data"]["sample_sheet"]["group_column"] = "patient_id"
    config["model"].update({"model": "tc1", "epochs": 2})
    config["hpo"]["space"] = {"learning_rate": [0.01]}
    snakemake(tmp_path, write_config(tmp_path / "config.yaml", config))

    manifest = json.loads((prepared_dir(tmp_path) / "manifest.json").read_text())
    assert manifest["classes"] == ["BRCA", "KIRC", "LUAD"]
    final = json.loads((tmp_path / "results/hpo/final/metrics.json").read_text())
    assert final["status"] == "ok"
    predictions = pd.read_parquet(tmp_path / "results/hpo/final/predictions.parquet")
    probabilities = predictions[[f"prob_{c}" for c in manifest["classes"]]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-9)
    assert set(predictions["pred_label"]) <= set(manifest["classes"])


def test_negative_count_stops_with_the_file_and_cell_named(tmp_path, cohort):
    write_sheet_and_genes(tmp_path, cohort)
    counts = cohort.counts.reset_index()
    counts.iloc[4, 7] = -3
    counts.to_csv(tmp_path / "counts.tsv", sep="\t", index=False)
    files = {
        "counts": str(tmp_path / "counts.tsv"),
        "genes": str(tmp_path / "genes.tsv"),
        "samples": str(tmp_path / "samples.tsv"),
    }
    config = write_config(tmp_path / "config.yaml", tiny_config(data={"source": "counts", "files": files}))
    result = snakemake(tmp_path, config, "data", check=False)

    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR: ")]
    assert len(set(errors)) == 1
    assert str(tmp_path / "counts.tsv") in errors[0]
    assert counts.columns[7] in errors[0] and str(counts.iloc[4, 0]) in errors[0]
    assert not (tmp_path / "results/data/ingested").exists() or not any((tmp_path / "results/data/ingested").iterdir())


def test_normalizing_values_that_are_not_counts_is_a_config_error(tmp_path):
    files = {"matrix": "m.csv", "samples": "s.csv"}
    config = write_config(tmp_path / "config.yaml", tiny_config(data={"source": "matrix", "files": files}))
    result = snakemake(tmp_path, config, "-n", check=False)
    assert result.returncode != 0
    assert "config key 'data.normalization'" in result.stdout + result.stderr


def test_drug_response_study_joins_by_index_and_reports_unprofiled(tmp_path):
    config = tiny_config(data={"source": "synthetic", "normalization": "none"})
    config["data"]["synthetic"] = {
        "variant": "drug_response",
        "n_cell_lines": 20,
        "n_drugs": 12,
        "n_unprofiled_cell_lines": 2,
        "n_unprofiled_drugs": 1,
        "seed": 4,
    }
    config["data"]["drug_response"] = {"group": "cell_line"}
    config["model"] = {
        "model": "dense",
        "task": "regression",
        "dense": [32, 16],
        "dropout": 0.0,
        "optimizer": "adam",
        "learning_rate": 0.003,
        "batch_size": 64,
        "epochs": 20,
        "scaling": "standard",
    }
    config["hpo"] = {
        "method": "grid",
        "objective": {"metric": "val_mse", "direction": "minimize"},
        "space": {"learning_rate": [0.003, 0.01]},
    }
    snakemake(tmp_path, write_config(tmp_path / "config.yaml", config))

    directory = prepared_dir(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    raw = pd.read_csv(tmp_path / "results/raw/synthetic/responses.tsv", sep="\t")
    cells = pd.read_csv(tmp_path / "results/raw/synthetic/cell_features.tsv", sep="\t")["cell_line"]
    drugs = pd.read_csv(tmp_path / "results/raw/synthetic/drug_features.tsv", sep="\t")["drug"]
    unusable = ~(raw["cell_line"].isin(cells) & raw["drug"].isin(drugs))
    assert manifest["join"]["n_dropped"] == int(unusable.sum()) > 0
    assert not (directory / "matrix.npy").exists()  # the joined matrix is never written
    responses = pd.read_parquet(directory / "responses.parquet")
    assert responses.groupby("cell_line")["split"].nunique().max() == 1  # grouped by cell line
    final = json.loads((tmp_path / "results/hpo/final/metrics.json").read_text())
    assert final["status"] == "ok"
    assert final["metrics"]["test_r2"] > 0.0  # better than predicting the mean, on unseen cell lines
    assert set(final["metrics"]) == {"test_mse", "test_mae", "test_r2", "test_pearson"}


def test_a_classifier_on_drug_response_data_is_a_config_error(tmp_path):
    config = tiny_config(data={"normalization": "none"})
    config["data"]["synthetic"] = {"variant": "drug_response"}
    result = snakemake(tmp_path, write_config(tmp_path / "config.yaml", config), "-n", check=False)
    assert result.returncode != 0
    assert "config key 'model.task'" in result.stdout + result.stderr
