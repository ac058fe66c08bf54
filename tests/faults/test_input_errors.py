"""Bad input found before TensorFlow starts (issue 16): each fault is injected into a config or
an input file, and the error must name the config key (or the file and line), the value, the
counts, and what would work. Most go through validate_config or the data functions; two dry
runs show that the workflow stops with the same one-line error, or accepts the same file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import planned_jobs, snakemake, tiny_config, write_config

from candle_lib.cli.commands import main as candle
from candle_lib.config import load_config, validate_config
from candle_lib.data.features import select_features
from candle_lib.data.ingest import ingest, ingest_matrix, read_sample_sheet
from candle_lib.data.split_methods import assign_splits
from candle_lib.data.split_table import build_split_table
from candle_lib.errors import CandleInputError
from candle_lib.models.shapes import check_conv_fits, conv_output_length
from candle_lib.search.aggregate import best_trial


def error_of(config: dict) -> str:
    with pytest.raises(CandleInputError) as caught:
        validate_config(config)
    return str(caught.value)


# --- 1. an objective metric that no trial reports ----------------------------------------------


def test_an_objective_metric_no_trial_reports_is_a_parse_error_naming_what_exists():
    config = tiny_config(hpo={"objective": {"metric": "val_acc", "direction": "maximize"}})
    assert error_of(config) == (
        "config key 'hpo.objective.metric': 'val_acc' is not a metric that the search's trials report: a trial of "
        "model nt3, task classification writes val_accuracy, val_auc, val_loss, val_majority_accuracy; did you mean "
        "'val_accuracy'? no trial would have an objective"
    )
    # a regression search has no val_loss: the space's settings are checked, not only the model section
    regression = tiny_config(hpo={"space": {"model": ["nt3", "dense"], "task": ["classification", "regression"]}})
    assert "a trial of model dense, task regression writes val_mae, val_mse, val_pearson, val_r2" in error_of(
        regression
    )
    assert "'cv.metric': 'accuracy' is not a metric" in error_of(tiny_config(cv={"metric": "accuracy"}))
    assert error_of(tiny_config(tda={"metric": "mse"})) == (
        "config key 'tda.metric': 'mse' scores regression, but the TDA trials (model nt3, task classification) are "
        "classifiers; use one of ['accuracy', 'auc', 'loss']"
    )


def test_ok_trials_without_the_metric_are_not_reported_as_failed_trials():
    table = pd.DataFrame(
        {
            "trial_id": ["aaaaaaaaaaaa", "bbbbbbbbbbbb"],
            "order": [0, 1],
            "status": ["ok", "ok"],
            "objective": [None, None],
            "val_loss": [0.5, 0.4],
            "val_accuracy": [0.8, 0.9],
        }
    )
    with pytest.raises(CandleInputError) as caught:
        best_trial(table, "maximize", "val_acc")
    message = str(caught.value)
    assert "no trial finished with status ok" not in message
    assert message == (
        "hpo.objective.metric: 2 trial(s) finished with status ok, but none has a finite value of 'val_acc' "
        "(they report val_loss, val_accuracy)"
    )


# --- 2. a conv/pool that cannot fit the input width --------------------------------------------


def test_a_conv_or_pool_wider_than_the_input_is_a_parse_error_with_what_fits():
    # top_variance 100: conv [4, 10, 1] leaves 91 positions, pool 10 -> 9, then a kernel of 10 cannot fit
    config = tiny_config(model={"conv": [4, 10, 1, 4, 10, 1], "pool": [10, 1]})
    assert error_of(config) == (
        "config key 'model.conv': layer 2 has kernel 10, but gets only 9 positions from an input of 100 features "
        "(data.filters.top_variance: 100); the largest kernel that fits layer 2 is 9 (or use fewer layers, smaller "
        "kernels/pools or more features)"
    )
    config = tiny_config(model={"conv": [4, 10, 3], "pool": [31]})  # (100 - 10) // 3 + 1 = 31 positions
    assert validate_config(config)["model"]["pool"] == [31]
    config["model"]["pool"] = [32]
    assert "config key 'model.pool': pool 32 after conv layer 1 gets only 31 positions" in error_of(config)
    assert "the largest pool that fits is 31" in error_of(config)
    # a kernel that only a value of the search's space makes too wide names hpo.space
    spaced = tiny_config(hpo={"space": {"conv": [[4, 10, 1], [4, 101, 1]]}})
    assert error_of(spaced).startswith("config key 'hpo.space.conv': layer 1 has kernel 101, but gets only 100")


def test_conv_lengths_are_the_lengths_keras_builds():
    keras = pytest.importorskip("keras")
    from candle_lib.models.conv1d import build_conv1d
    from candle_lib.params.specs import resolve_params

    params = resolve_params({"conv": [2, 7, 3, 2, 4, 2], "pool": [2, 3]})
    lengths = check_conv_fits(params, 101)
    assert lengths == [16, 2]  # (101-7)//3+1 = 32 -> 16; (16-4)//2+1 = 7 -> 2
    model = build_conv1d(params, 101, 2, "softmax")
    assert [model.get_layer(name).output.shape[1] for name in ("pool1", "pool2")] == lengths
    assert conv_output_length(6, 7, 1) == 0
    with pytest.raises(CandleInputError, match="model.conv': layer 1 has kernel 7, but gets only 6 positions"):
        check_conv_fits(params, 6)
    assert keras is not None


# --- 3. top_variance above the number of genes -------------------------------------------------


def test_top_variance_above_the_genes_left_names_the_key_and_the_count():
    values = np.array([[0, 1, 2, 0, 5], [0, 3, 1, 0, 2], [1, 2, 3, 0, 4]], dtype=float)
    with pytest.raises(CandleInputError) as caught:
        select_features(values, [0, 1], min_nonzero_samples=2, top_variance=4)
    assert str(caught.value) == (
        "config key 'data.filters.top_variance': 4 is above the 3 features left after "
        "data.filters.min_nonzero_samples: 2 (of 5 in the data); set it to at most 3, or null to keep them all"
    )
    assert list(select_features(values, [0, 1], min_nonzero_samples=2, top_variance=3)) == [1, 2, 4]


# --- 4. a class with one sample; more grouped folds than groups --------------------------------


def test_a_class_with_a_single_sample_stops_the_split():
    ids = [f"s{i}" for i in range(13)]
    labels = ["normal"] * 6 + ["tumor"] * 6 + ["rare"]
    with pytest.raises(CandleInputError) as caught:
        assign_splits(ids, labels, n_folds=3, seed=1)
    assert str(caught.value) == (
        "class 'rare' (data.sample_sheet.label_column) has only 1 sample; train, val and test each need one of "
        "every class (else val_auc/test_auc are null): give it at least 3 samples, merge it into another class, "
        "or drop its samples from the sample sheet"
    )


def test_more_grouped_folds_than_groups_names_n_folds_and_the_counts():
    # 10 patients of 2 samples (one normal, one tumor); the rows of patients p8 and p9 are the given test set
    samples = pd.DataFrame(
        {
            "sample_id": [f"p{p}_{kind}" for p in range(10) for kind in ("n", "t")],
            "label": ["normal", "tumor"] * 10,
            "group": [f"p{p}" for p in range(10) for _ in range(2)],
            "split_hint": ["test" if p >= 8 else "" for p in range(10) for _ in range(2)],
        }
    )
    with pytest.raises(CandleInputError) as caught:
        build_split_table(samples, {"n_folds": 9, "seed": 0, "val_fraction": 0.2})
    assert str(caught.value) == (
        "config key 'data.splits.n_folds': 9 grouped folds need at least 9 groups, but the train+val rows hold "
        "only 8; set it to at most 8"
    )
    assert build_split_table(samples, {"n_folds": 8, "seed": 0, "val_fraction": 0.2})["fold"].max() == 7


# --- 5. partial sections get their defaults ----------------------------------------------------


def test_partial_sections_get_their_defaults():
    config = tiny_config()
    config["data"]["splits"] = {"seed": 3}
    config["data"].pop("filters")
    config["hpo"]["objective"] = {"metric": "val_auc"}
    config["uq"] = {"members": 3, "mc_dropout": {"passes": 4}}
    config["tda"] = {"noise": {"seeds": 2}}
    checked = validate_config(config)
    assert checked["data"]["splits"] == {
        "seed": 3,
        "test_fraction": 0.2,
        "val_fraction": 0.2,
        "n_folds": 5,
        "subsample_fractions": [],
        "subsample_repeats": 1,
        "bootstrap": 0,
        "logo_column": None,
    }
    assert checked["data"]["filters"] == {
        "min_nonzero_samples": 0,
        "top_variance": None,
        "gene_list": None,
        "ignore_version": False,
    }
    assert checked["hpo"]["objective"] == {"metric": "val_auc", "direction": "maximize"}
    assert checked["uq"]["mc_dropout"] == {"passes": 4, "seed": 0} and checked["uq"]["ensemble"] == "seed"
    assert checked["tda"]["noise"] == {"seeds": 2, "label": [0.0, 0.1, 0.2, 0.4], "feature": [0.0, 0.5, 1.0]}
    assert config["data"]["splits"] == {"seed": 3}  # the caller's dict is left as it was
    missing = tiny_config()
    missing.pop("hpo")
    assert error_of(missing) == "config key '(top level)': 'hpo' is a required property"


# --- 6. YAML syntax errors and duplicated keys; a binary parameter file -------------------------


def test_yaml_syntax_error_and_duplicated_key_name_the_file_and_lines(tmp_path):
    good = yaml.safe_dump(tiny_config(), sort_keys=False)
    broken = tmp_path / "broken.yaml"
    broken.write_text(good.replace("hpo:\n  method: grid\n", "hpo:\n  method: grid\n bad: [\n", 1))
    line = good.splitlines().index("hpo:") + 3
    with pytest.raises(CandleInputError) as caught:
        load_config(broken)
    assert str(caught.value).startswith(f"{broken}: line {line}, column 2: YAML syntax error:")
    duplicated = tmp_path / "duplicated.yaml"
    duplicated.write_text(good + "hpo:\n  method: random\n")
    first = good.splitlines().index("hpo:") + 1
    second = len(good.splitlines()) + 1
    with pytest.raises(CandleInputError) as caught:
        load_config(duplicated)
    assert str(caught.value) == (
        f"{duplicated}: key 'hpo' is given twice in one mapping (lines {first} and {second}); YAML would silently "
        "keep the second: remove one"
    )


def test_candle_params_on_a_binary_file_is_one_clear_error(tmp_path, capsys):
    binary = tmp_path / "model.txt"
    binary.write_bytes(b"[Global_Params]\nepochs=3\n\x89PNG\x00\x01")
    assert candle(["params", "--params", str(binary)]) == 2
    assert capsys.readouterr().err == (
        f"candle: error: {binary}: not a text CANDLE parameter file (a NUL byte at offset 29): is it a binary file?\n"
    )
    latin = tmp_path / "model.yaml"
    latin.write_bytes("epochs: 3 # caf\xe9\n".encode("latin-1"))
    assert candle(["params", "--params", str(latin)]) == 2
    assert "byte 0xe9 at offset 15 is not UTF-8 text" in capsys.readouterr().err


# --- 7. data errors that name the file and what to check ----------------------------------------


@pytest.fixture
def count_files(tmp_path):
    counts = pd.DataFrame(
        [[10, 0, 3, 7], [5, 2, 0, 1], [0, 9, 4, 4]],
        index=pd.Index(["G1", "G2", "G3"], name="gene_id"),
        columns=["s1", "s2", "s3", "s4"],
    )
    counts.to_csv(tmp_path / "counts.tsv", sep="\t")
    pd.DataFrame({"gene_id": ["G1", "G2", "G3"], "length": [1000, 2000, 1500]}).to_csv(
        tmp_path / "genes.tsv", sep="\t", index=False
    )
    sheet = pd.DataFrame({"sample_id": ["s1", "s2", "s3", "s4"], "label": ["a", "b", "a", "b"]})
    sheet.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    return tmp_path


def test_a_semicolon_separated_csv_is_named_as_such(count_files):
    path = count_files / "samples.csv"
    path.write_text("sample_id;label\ns1;a\ns2;b\n")
    with pytest.raises(CandleInputError) as caught:
        read_sample_sheet(path, id_column="sample_id", label_column="label", group_column=None)
    assert str(caught.value) == (
        f"{path}: row 1: reads as a single column: its header line is separated by semicolons, but a CSV (.csv) file "
        "is read with commas; save it with commas (or as .tsv with tabs)"
    )


def test_the_wrong_orientation_says_which_to_set(count_files):
    files = [count_files / name for name in ("counts.tsv", "genes.tsv", "samples.tsv")]
    assert ingest(*files).counts.shape == (4, 3)
    with pytest.raises(CandleInputError) as caught:
        ingest(*files, orientation="samples_by_genes")
    assert str(caught.value) == (
        f"{files[0]}: the sample ids of the sample sheet are in the file's header (first row), not its first column: "
        "the file is laid out genes_by_samples, but config key 'data.files.orientation' is samples_by_genes; set "
        "data.files.orientation: genes_by_samples"
    )
    with pytest.raises(CandleInputError, match="laid out genes_by_samples, but config key 'data.files.orientation'"):
        ingest_matrix(files[0], files[2], orientation="samples_by_genes")


def test_a_short_row_is_named_by_its_line_not_reported_as_a_nan(count_files):
    path = count_files / "counts.tsv"
    lines = path.read_text().splitlines()
    lines[2] = "\t".join(lines[2].split("\t")[:-1])  # gene G2 lost its last field (sample s4)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CandleInputError) as caught:
        ingest(path, count_files / "genes.tsv", count_files / "samples.tsv")
    assert str(caught.value) == (
        f"{path}: line 3: line 3 has 4 fields but the header has 5: a short row (a truncated line, or a missing "
        "tab)? Check that line"
    )


# --- the workflow: the same defaults, the same one-line error, before any job ------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("input_errors")


def test_the_workflow_fills_a_partial_section_as_validate_config_does(workdir):
    config = tiny_config()
    config["data"]["splits"] = {"seed": 3}
    result = snakemake(workdir, write_config(workdir / "partial.yaml", config), "-n", "cv")
    assert planned_jobs(result)["train_trial"] == 5  # data.splits.n_folds' default


def test_the_workflow_stops_on_a_duplicated_key_with_the_same_line(workdir):
    text = yaml.safe_dump(tiny_config(), sort_keys=False)
    path = workdir / "duplicated.yaml"
    path.write_text(text + "hpo:\n  method: random\n")
    with pytest.raises(CandleInputError) as caught:
        load_config(path)
    expected = f"invalid config: {caught.value}"
    result = snakemake(workdir, path, "-n", check=False)
    assert result.returncode != 0
    assert expected in (result.stdout + result.stderr).splitlines()
    assert "Job stats" not in result.stdout + result.stderr
    assert not (workdir / "results").exists()
