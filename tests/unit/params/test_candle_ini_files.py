"""Every key of CANDLE's Pilot1 ``*_default_model.txt`` files imports.

tests/unit/params/candle_files/ holds one file per benchmark family (NT3, TC1, P1B1, P1B2, P1B3,
Uno, UnoMT, Combo, ST1, T29, Attn) with that family's keys, in the real files' format (sections,
comments, lists, nested lists, quotes of both kinds, None, True/False), and values of these tests.
REAL_KEYS is the list of keys found in CANDLE Benchmarks' Pilot1 files (master and develop),
written out here: the test files must cover all of them. Expected values are written by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from candle_lib.errors import CandleInputError
from candle_lib.params.candle_ini import (
    DIFFERS,
    NO_EFFECT,
    OTHER_MODEL,
    UNSET,
    ignored_warning,
    read_candle_ini,
    read_ini_entries,
)
from candle_lib.params.declared import benchmark_declarations
from candle_lib.params.layers import resolve_layers
from candle_lib.params.specs import BUILTIN_SPECS, ParamSpec

FILES = Path(__file__).parent / "candle_files"

REAL_KEYS = """
activation add_noise alpha_dropout autoencoder_init base_lr batch_normalization batch_size category_cutoffs
cell_features cell_noise_sigma cell_types check ckpt_checksum ckpt_restart_mode ckpt_save_interval cl_clf_layer_dim
cl_clf_lr cl_clf_num_layers cl_clf_opt classes conv cv cv_partition data_url dense dense_feature_layers disjoint_cells
disjoint_drugs dropout drug_feature_usage drug_features drug_latent_dim drug_layer_dim drug_num_layers
drug_qed_activation drug_qed_layer_dim drug_qed_loss_func drug_qed_lr drug_qed_num_layers drug_qed_opt
drug_target_layer_dim drug_target_lr drug_target_num_layers drug_target_opt dscptr_nan_threshold dscptr_scaling
early_stop early_stop_patience embed_dim epochs epsilon_std experiment_id feature_col feature_subsample
feature_threshold ff_dim gen gene_latent_dim gene_layer_dim gene_num_layers gpus grth_scaling initialization
l2_regularization label_noise latent_dim learning_rate loss lr_decay_factor max_abs_frac max_logconc max_num_batches
max_val_loss maxlen metrics min_abs_acc min_logconc model model_name momentum no_gen noise_cluster noise_column
noise_correlated noise_gaussian noise_type num_heads optimizer out_activation out_layer output_dir pool qed_scaling
reduce_lr reg_l2 residual resp_activation resp_layer_dim resp_loss_func resp_lr resp_num_blocks resp_num_layers
resp_num_layers_per_block resp_opt resp_val_start_epoch rnaseq_feature_usage rnaseq_scaling rng_seed run_id
save_path scaling shuffle std_dev subsample test_cell_split test_data test_path test_sources timeout train_data
train_path train_sources transformer_depth trn_batch_size use_combo_score use_cp val_batch_size val_data val_sources
val_split verbose vocab_size warmup_lr
""".split()

UNOMT_MODEL = (
    "grth_scaling dscptr_scaling rnaseq_scaling qed_scaling gene_layer_dim gene_num_layers gene_latent_dim "
    "drug_layer_dim drug_num_layers drug_latent_dim resp_layer_dim resp_num_layers_per_block resp_num_blocks "
    "resp_num_layers resp_activation cl_clf_layer_dim cl_clf_num_layers drug_target_layer_dim drug_target_num_layers "
    "drug_qed_layer_dim drug_qed_num_layers drug_qed_activation resp_loss_func resp_opt resp_lr cl_clf_opt cl_clf_lr "
    "drug_target_opt drug_target_lr drug_qed_loss_func drug_qed_opt drug_qed_lr resp_val_start_epoch "
    "early_stop_patience l2_regularization lr_decay_factor max_num_batches"
).split()

# file -> (the hyperparameters it sets, its ignored keys in file order with what ignoring them means)
EXPECTED = {
    "nt3_default_model.txt": (
        {
            "model": "nt3",
            "conv": [32, 8, 1, 16, 4, 2],
            "dense": [64, 8],
            "activation": "tanh",
            "out_activation": "softmax",
            "loss": "auto",
            "optimizer": "sgd",
            "epochs": 12,
            "batch_size": 16,
            "learning_rate": 0.005,
            "dropout": 0.25,
            "pool": [1, 4],
            "timeout": 900.0,
        },
        [
            (key, NO_EFFECT)
            for key in (
                "data_url train_data test_data metrics classes output_dir add_noise label_noise noise_correlated "
                "noise_cluster noise_column noise_type feature_col feature_threshold noise_gaussian std_dev "
                "ckpt_restart_mode ckpt_save_interval ckpt_checksum"
            ).split()
        ],
    ),
    "tc1_default_model.txt": (
        {
            "model": "tc1",
            "conv": [64, 10, 1, 32, 5, 1],
            "dense": [100, 10],
            "activation": "relu",
            "out_activation": "softmax",
            "loss": "auto",
            "optimizer": "sgd",
            "epochs": 30,
            "batch_size": 32,
            "dropout": 0.2,
            "pool": [1, 5],
        },
        [
            (key, NO_EFFECT)
            for key in "data_url train_data test_data metrics classes feature_subsample output_dir".split()
        ],
    ),
    "p1b1_default_model.txt": (
        {
            "model": "p1b1",
            "vae": True,
            "dense": [400, 100],
            "batch_size": 50,
            "epochs": 20,
            "activation": "relu",
            "loss": "mse",
            "optimizer": "adam",
            "dropout": 0.0,
            "scaling": "minmax",
            "rng_seed": 11,
            "latent_dim": 4,
            "timeout": 1800.0,
        },
        [("data_url", NO_EFFECT), ("train_data", NO_EFFECT), ("test_data", NO_EFFECT), ("learning_rate", UNSET)]
        + [
            (key, NO_EFFECT)
            for key in (
                "base_lr val_split epsilon_std initialization feature_subsample batch_normalization alpha_dropout "
                "save_path"
            ).split()
        ],
    ),
    "p1b2_default_model.txt": (
        {
            "dense": [256, 64],
            "batch_size": 40,
            "epochs": 5,
            "activation": "sigmoid",
            "loss": "auto",
            "optimizer": "rmsprop",
            "learning_rate": 0.002,
            "scaling": "minmax",
            "dropout": 0.0,
            "rng_seed": 5,
        },
        [(key, NO_EFFECT) for key in "data_url train_data test_data model_name feature_subsample".split()]
        + [("reg_l2", DIFFERS)]
        + [(key, NO_EFFECT) for key in "val_split initialization save_path shuffle".split()],
    ),
    "p1b3_default_model.txt": (
        {
            "dense": [200, 50, 10],
            "batch_size": 64,
            "epochs": 3,
            "activation": "relu",
            "loss": "mse",
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "scaling": "standard",
            "dropout": 0.05,
            "rng_seed": 3,
        },
        [("model_name", NO_EFFECT), ("feature_subsample", NO_EFFECT), ("val_split", NO_EFFECT)]
        + [("initialization", DIFFERS)]
        + [
            (key, NO_EFFECT)
            for key in "min_logconc max_logconc category_cutoffs test_cell_split cell_features drug_features".split()
        ]
        + [("subsample", DIFFERS), ("batch_normalization", NO_EFFECT), ("cell_noise_sigma", NO_EFFECT)]
        + [("output_dir", NO_EFFECT)],
    ),
    "uno_default_model.txt": (
        {
            "dense": [500, 250],
            "activation": "relu",
            "loss": "mse",
            "optimizer": "adam",
            "scaling": "standard",
            "dropout": 0.1,
            "epochs": 8,
            "batch_size": 64,
            "reduce_lr": 0,
            "rng_seed": 2019,
            "timeout": 7200.0,
        },
        [
            (key, NO_EFFECT)
            for key in "model_name train_sources test_sources cell_types cell_features drug_features".split()
        ]
        + [("dense_feature_layers", OTHER_MODEL)]
        + [(key, NO_EFFECT) for key in "val_split cv max_val_loss".split()]
        + [("learning_rate", UNSET)]
        + [
            (key, NO_EFFECT)
            for key in (
                "base_lr residual warmup_lr batch_normalization feature_subsample save_path no_gen verbose gpus"
            ).split()
        ],
    ),
    "combo_default_model.txt": (
        {
            "dense": [300, 300],
            "activation": "relu",
            "loss": "mae",
            "optimizer": "adam",
            "scaling": "standard",
            "dropout": 0.0,
            "epochs": 4,
            "batch_size": 128,
            "reduce_lr": 0,
            "rng_seed": 2017,
            "timeout": 3600.0,
        },
        [(key, NO_EFFECT) for key in "model_name cell_features drug_features".split()]
        + [("dense_feature_layers", OTHER_MODEL)]
        + [(key, NO_EFFECT) for key in "val_split cv cv_partition max_val_loss".split()]
        + [("learning_rate", UNSET), ("base_lr", NO_EFFECT), ("residual", NO_EFFECT), ("warmup_lr", DIFFERS)]
        + [
            (key, NO_EFFECT)
            for key in "batch_normalization feature_subsample save_path gen use_combo_score verbose".split()
        ],
    ),
    "unoMT_default_model.txt": (
        {"dropout": 0.2, "batch_size": 64, "epochs": 25, "rng_seed": 0, "timeout": 3600.0},
        [("train_sources", NO_EFFECT), ("val_sources", NO_EFFECT)]
        + [(key, OTHER_MODEL) for key in UNOMT_MODEL[:3]]
        + [("dscptr_nan_threshold", NO_EFFECT), ("qed_scaling", OTHER_MODEL)]
        + [
            (key, NO_EFFECT)
            for key in "rnaseq_feature_usage drug_feature_usage val_split disjoint_drugs disjoint_cells".split()
        ]
        + [(key, OTHER_MODEL) for key in UNOMT_MODEL[4:10]]
        + [("autoencoder_init", NO_EFFECT)]
        + [(key, OTHER_MODEL) for key in UNOMT_MODEL[10:-1]]
        + [("val_batch_size", NO_EFFECT), ("max_num_batches", OTHER_MODEL), ("save_path", NO_EFFECT)],
    ),
    "st1_default_model.txt": (
        {
            "dropout": 0.15,
            "dense": [128, 32],
            "activation": "relu",
            "out_activation": "softmax",
            "epochs": 10,
            "batch_size": 8,
            "loss": "auto",
            "learning_rate": 0.0001,
            "optimizer": "adam",
        },
        [(key, NO_EFFECT) for key in "model_name data_url train_data val_data out_layer".split()]
        + [(key, OTHER_MODEL) for key in "transformer_depth embed_dim ff_dim maxlen num_heads vocab_size".split()],
    ),
    "t29_default_model.txt": (
        {
            "batch_size": 32,
            "epochs": 10,
            "dropout": 0.3,
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "loss": "auto",
            "activation": "relu",
        },
        [(key, NO_EFFECT) for key in "model_name train_path test_path classes".split()]
        + [("momentum", DIFFERS), ("check", NO_EFFECT)],
    ),
    "attn_default_model.txt": (
        {
            "dense": [100, 100, 50, 2],
            "batch_size": 16,
            "epochs": 5,
            "loss": "auto",
            "optimizer": "sgd",
            "dropout": 0.1,
            "learning_rate": 0.0001,
            "scaling": "minmax",
            "rng_seed": 2020,
            "latent_dim": 2,
            "timeout": 3600.0,
        },
        [(key, NO_EFFECT) for key in "data_url train_data model_name".split()]
        + [("activation", DIFFERS), ("momentum", DIFFERS)]
        + [(key, NO_EFFECT) for key in "val_split epsilon_std initialization batch_normalization use_cp".split()]
        + [("early_stop", DIFFERS), ("reduce_lr", DIFFERS), ("feature_subsample", NO_EFFECT)]
        + [(key, NO_EFFECT) for key in "output_dir experiment_id run_id save_path".split()]
        + [("min_abs_acc", OTHER_MODEL), ("max_abs_frac", OTHER_MODEL)],
    ),
}


def test_the_files_cover_every_key_of_candles_pilot1_files():
    keys = {key for path in FILES.glob("*.txt") for _, key, _ in read_ini_entries(path, lenient_keys=REAL_KEYS)}
    assert len(REAL_KEYS) == 133
    assert keys == set(REAL_KEYS)
    assert set(EXPECTED) == {path.name for path in FILES.glob("*.txt")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_family_imports_with_exact_values(name):
    params, ignored = EXPECTED[name]
    imported = read_candle_ini(FILES / name)
    assert imported.params == params
    assert {key: type(value) for key, value in imported.params.items()} == {
        key: type(value) for key, value in params.items()
    }
    assert [(item.key, item.effect) for item in imported.ignored] == ignored
    # every key is either set or ignored, and each once
    entries = read_ini_entries(FILES / name)
    assert len(imported.ignored) + len({key for _, key, _ in entries} - {item.key for item in imported.ignored}) == len(
        {key for _, key, _ in entries}
    )
    # and it resolves to a full, checked set of hyperparameters
    resolved = resolve_layers(FILES / name)
    assert {name: resolved.params[name] for name in params} == params
    assert resolved.set_by["epochs"] == str(FILES / name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_warning_line_names_exactly_the_ignored_keys(name):
    _, ignored = EXPECTED[name]
    line = ignored_warning(read_candle_ini(FILES / name).ignored)
    assert "\n" not in line
    assert line.startswith(f"{len(ignored)} CANDLE keys ignored (")
    assert line.endswith(")")
    named = []
    for part in line[line.index("(") + 1 : -1].split("; "):
        items = part.split(": ", 1)[1]
        named += re.findall(r"(?:^|, )(\w+)=", items) if "=" in items else items.split(", ")
    assert sorted(named) == sorted(key for key, _ in ignored)


@pytest.mark.parametrize(
    "name, line",
    [
        (
            "nt3_default_model.txt",
            "19 CANDLE keys ignored (no effect here: data_url, train_data, test_data, metrics, classes, output_dir, "
            "add_noise, label_noise, noise_correlated, noise_cluster, noise_column, noise_type, feature_col, "
            "feature_threshold, noise_gaussian, std_dev, ckpt_restart_mode, ckpt_save_interval, ckpt_checksum)",
        ),
        (
            "t29_default_model.txt",
            "6 CANDLE keys ignored (no effect here: model_name, train_path, test_path, classes, check; "
            "not implemented here, so the training differs from CANDLE's: momentum=0.5)",
        ),
        (
            "attn_default_model.txt",
            "19 CANDLE keys ignored (no effect here: data_url, train_data, model_name, val_split, epsilon_std, "
            "initialization, batch_normalization, use_cp, feature_subsample, output_dir, experiment_id, run_id, "
            "save_path; not implemented here, so the training differs from CANDLE's: "
            "activation=['relu', 'relu', 'softmax', 'relu'], momentum=0.9, early_stop=True, reduce_lr=True; "
            "settings of CANDLE's own models that the built-in ones lack (declare them for yours): "
            "min_abs_acc, max_abs_frac)",
        ),
        (
            "combo_default_model.txt",
            "18 CANDLE keys ignored (no effect here: model_name, cell_features, drug_features, val_split, cv, "
            "cv_partition, max_val_loss, base_lr, residual, batch_normalization, feature_subsample, save_path, gen, "
            "use_combo_score, verbose; None, so the default applies: learning_rate; not implemented here, so the "
            "training differs from CANDLE's: warmup_lr=True; settings of CANDLE's own models that the built-in ones "
            "lack (declare them for yours): dense_feature_layers)",
        ),
    ],
)
def test_warning_lines(name, line):
    assert ignored_warning(read_candle_ini(FILES / name).ignored) == line


def test_no_ignored_key_no_warning():
    assert ignored_warning(()) is None


def test_a_key_in_two_layers_is_named_once_with_its_last_value(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("[Global_Params]\nmomentum = 0.9\ndata_url = 'x'\n")
    resolved = resolve_layers(path, ["momentum=0.5"])
    assert ignored_warning(resolved.ignored) == (
        "2 CANDLE keys ignored (no effect here: data_url; "
        "not implemented here, so the training differs from CANDLE's: momentum=0.5)"
    )


def test_a_long_value_is_shortened_in_the_line(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("[Global_Params]\nactivation = ['relu', 'tanh', 'relu', 'tanh', 'relu', 'tanh']\n")
    assert ignored_warning(read_candle_ini(path).ignored) == (
        "1 CANDLE key ignored (not implemented here, so the training differs from CANDLE's: "
        "activation=['relu', 'tanh', 'relu', 'tanh', 'rel...)"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_typo_is_an_error_naming_key_section_and_file(tmp_path, name):
    path = tmp_path / name
    path.write_text((FILES / name).read_text() + "\n[Typo_Params]\nbatch_sise = 4\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path)
    assert str(info.value).startswith(f"{path}: [Typo_Params]: unknown key 'batch_sise': ")
    assert "did you mean 'batch_size'? " in str(info.value)


# --------------------------------------------------------------------------- keys of the user's model


def my_specs(*extra: ParamSpec):
    return BUILTIN_SPECS.with_declared(extra)


MOMENTUM = ParamSpec("momentum", "float", 0.0, "SGD momentum", bounds=(0.0, 1.0), source="my_model.py")
EMBED_DIM = ParamSpec("embed_dim", "int", 64, "token embedding width", source="the config's hyperparameters")


def test_declared_keys_pass_through_checked():
    specs = my_specs(MOMENTUM, EMBED_DIM)
    t29 = read_candle_ini(FILES / "t29_default_model.txt", specs=specs)
    assert t29.params["momentum"] == 0.5
    assert "momentum" not in {item.key for item in t29.ignored}
    st1 = read_candle_ini(FILES / "st1_default_model.txt", specs=specs)
    assert st1.params["embed_dim"] == 32
    assert [item.key for item in st1.ignored if item.effect == OTHER_MODEL] == [
        "transformer_depth",
        "ff_dim",
        "maxlen",
        "num_heads",
        "vocab_size",
    ]


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("momentum = 'fast'", "momentum: 'fast' is not a valid float (SGD momentum)"),
        ("momentum = 1.5", "momentum: 1.5 is outside [0.0, 1.0] (SGD momentum)"),
        ("embed_dim = 32.0", "embed_dim: 32.0 is not a valid int (token embedding width)"),
    ],
)
def test_declared_keys_are_type_checked(tmp_path, line, fragment):
    path = tmp_path / "mine.txt"
    path.write_text(f"[Global_Params]\nepochs = 2\n{line}\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path, specs=my_specs(MOMENTUM, EMBED_DIM))
    assert str(info.value).startswith(f"{path}: [Global_Params]: {fragment}")


def test_none_for_a_declared_key_leaves_its_default(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("[Global_Params]\nmomentum = None\n")
    imported = read_candle_ini(path, specs=my_specs(MOMENTUM))
    assert imported.params == {}
    assert [(item.key, item.effect) for item in imported.ignored] == [("momentum", UNSET)]
    assert resolve_layers(path, specs=my_specs(MOMENTUM)).params["momentum"] == 0.0


def test_a_typo_names_the_declared_keys(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("[Global_Params]\nmomentun = 0.3\n")
    with pytest.raises(CandleInputError) as info:
        read_candle_ini(path, specs=my_specs(MOMENTUM))
    message = str(info.value)
    assert message.startswith(f"{path}: [Global_Params]: unknown key 'momentun': ")
    assert "did you mean 'momentum'? " in message
    assert "; declared for your model: momentum; " in message


def test_a_benchmarks_own_file_passes_through_whole(tmp_path):
    """A CANDLE benchmark module's declarations are its file's keys: every one passes on as it is
    (Attn's per-layer activation list included), but this project's own runner keys."""
    path = FILES / "attn_default_model.txt"
    specs = BUILTIN_SPECS.with_declared(benchmark_declarations(path))
    imported = read_candle_ini(path, specs=specs)
    # the output folders are the runner's (set to the trial's own), reported as ignored
    assert sorted(key.key for key in imported.ignored) == ["output_dir", "save_path"]
    assert imported.params["activation"] == ["relu", "relu", "softmax", "relu"]
    assert imported.params["early_stop"] is True
    assert imported.params["momentum"] == 0.9
    assert imported.params["timeout"] == 3600.0  # a runner key: this project's own timeout
    assert len(imported.params) == len({key for _, key, _ in read_ini_entries(path)}) - 2
