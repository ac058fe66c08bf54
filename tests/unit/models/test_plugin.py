"""A Keras builder of the user's (candle_lib.models.plugin): found by file or module reference,
checked without importing it (builder_problem), and every way it can break its contract is one
CandleInputError naming model.model and the file."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from candle_lib.errors import CandleInputError
from candle_lib.models.plugin import BuilderContractError, builder_problem, import_plugin, plugin_module_name
from candle_lib.params.specs import resolve_params

GOOD = """
import keras

def build(params, input_width, output_width, output_activation):
    inputs = keras.Input((input_width,))
    hidden = keras.layers.Dense(params["dense"][0], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(output_width, activation=output_activation)(hidden))
"""


@pytest.fixture(autouse=True)
def restore_sys_path(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the workflow's directory is put first on it


def write(directory, name: str, text: str):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def build(reference: str, n_features: int = 10, n_outputs: int = 2, activation: str = "softmax"):
    from candle_lib.models import build_model

    return build_model(resolve_params({"model": reference, "dense": [4]}), n_features, n_outputs, activation)


def contract_error(reference: str, **kwargs) -> BuilderContractError:
    with pytest.raises(BuilderContractError) as raised:
        build(reference, **kwargs)
    assert isinstance(raised.value, CandleInputError) and raised.value.where == "model.model"
    return raised.value


# --- builder_problem: the definition read from the syntax tree ---------------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def build(params, input_width, output_width, output_activation):\n    pass\n", None),
        ("def build(params, *sizes):\n    pass\n", None),
        ("def build(params, a, b, c, extra=1, *, flag=False):\n    pass\n", None),
        ("from elsewhere import build\n", None),
        (
            "try:\n    import keras\nexcept ImportError:\n    pass\nelse:\n    def build(p, i, o, a):\n        pass\n",
            None,
        ),
        (
            "if True:\n    def build(p, i):\n        pass\n",
            "build() takes 2 positional parameter(s); it must take 4: params, input_width, output_width, "
            "output_activation",
        ),
        (
            "def build(params, input_width, output_width):\n    pass\n",
            "build() takes 3 positional parameter(s); it must take 4: params, input_width, output_width, "
            "output_activation",
        ),
        (
            "def build(a, b, c, d, e):\n    pass\n",
            "build() requires 5 positional parameters; it is called with 4: params, input_width, output_width, "
            "output_activation",
        ),
        (
            "def build(a, b, c, d, *, e):\n    pass\n",
            "build() has keyword-only parameter(s) without a default (e); it is called with 4 positional arguments",
        ),
        (
            "class build:\n    def __init__(self, params, width):\n        pass\n",
            "class build's __init__ takes 2 positional parameter(s); it must take 4: params, input_width, "
            "output_width, output_activation",
        ),
        ("def other(a, b, c, d):\n    pass\n", "no function build() defined at the top level of the module"),
        (
            "def outer():\n    def build(a, b, c, d):\n        pass\n",
            "no function build() defined at the top level of the module",
        ),
        ("def build(a, b, c, d)\n    pass\n", "Python syntax error at line 2: expected ':'"),
    ],
    ids=[
        "ok",
        "varargs",
        "defaults",
        "imported",
        "in-try",
        "in-if",
        "three",
        "five",
        "kwonly",
        "class",
        "missing",
        "nested",
        "syntax",
    ],
)
def test_builder_problem_reads_the_definition_without_importing(tmp_path, source, problem):
    path = write(tmp_path, "model.py", "raise SystemExit('imported!')\n" + source)  # line 1
    assert builder_problem(path, "build") == problem


# --- the bad inputs, each one clear error -------------------------------------------------------


def test_a_missing_builder_file_names_the_key_and_the_file(tmp_path):
    error = contract_error(f"{tmp_path}/absent.py:build")
    assert str(error).startswith(f"model.model: the builder's file {tmp_path}/absent.py does not exist")


def test_a_module_not_on_the_workflow_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = contract_error("no_such_models.attention:build")
    assert str(error).startswith(
        f"model.model: module no_such_models.attention not found on the workflow's directory ({tmp_path})"
    )


def test_an_error_while_importing_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "broken.py", "import keras\n\nx = 1\nimport not_a_module_anywhere\n")
    error = contract_error(f"{path}:build")
    assert str(error) == (
        f"{path}: model.model: importing the builder's module failed (line 4): ModuleNotFoundError: "
        "No module named 'not_a_module_anywhere'"
    )
    assert plugin_module_name(path) not in sys.modules  # a half-imported module is not kept


def test_a_missing_function_lists_the_ones_there_are(tmp_path):
    path = write(tmp_path, "models_a.py", GOOD)
    error = contract_error(f"{path}:make_model")
    assert str(error) == f"{path}: model.model: the module defines no make_model() (its functions: build)"


def test_a_wrong_signature(tmp_path):
    path = write(tmp_path, "models_b.py", "def build(params, input_width):\n    return None\n")
    error = contract_error(f"{path}:build")
    assert str(error) == (
        f"{path}: model.model: build() cannot be called as build(params, input_width, output_width, "
        "output_activation): too many positional arguments"
    )


def test_a_builder_that_returns_no_model(tmp_path):
    path = write(
        tmp_path, "models_c.py", "def build(params, input_width, output_width, output_activation):\n    pass\n"
    )
    assert str(contract_error(f"{path}:build")) == f"{path}: model.model: build() returned NoneType, not a keras.Model"


def test_a_builder_with_the_wrong_output_width_for_the_task(tmp_path):
    path = write(tmp_path, "models_d.py", GOOD.replace("Dense(output_width", "Dense(3"))
    assert str(contract_error(f"{path}:build", n_outputs=2)) == (
        f"{path}: model.model: build() returned a model whose output has shape (None, 3); this task needs 2 "
        "value(s) per row, (None, 2): give the output layer output_width units"
    )


def test_a_builder_with_the_wrong_input_width(tmp_path):
    path = write(tmp_path, "models_e.py", GOOD.replace("keras.Input((input_width,))", "keras.Input((7,))"))
    assert str(contract_error(f"{path}:build", n_features=10)) == (
        f"{path}: model.model: build() returned a model whose input has shape (None, 7); the trial feeds rows "
        "of 10 features: (None, 10)"
    )


def test_a_subclassed_model_is_checked_by_calling_it(tmp_path):
    path = write(
        tmp_path,
        "models_f.py",
        """
        import keras

        class Net(keras.Model):
            def __init__(self, params, input_width, output_width, output_activation):
                super().__init__()
                self.out = keras.layers.Dense(OUT, activation=output_activation)

            def call(self, x):
                return self.out(x)
        """,
    )
    text = path.read_text()
    path.write_text(text.replace("OUT", "output_width"))
    model = build(f"{path}:Net", n_features=10, n_outputs=2)
    assert tuple(model(np.zeros((3, 10), "float32")).shape) == (3, 2)
    path.write_text(text.replace("OUT", "output_width + 1"))  # the file changed: imported afresh
    assert str(contract_error(f"{path}:Net")) == (
        f"{path}: model.model: Net() returned a model whose output has shape (1, 3); this task needs 2 value(s) "
        "per row, (None, 2): give the output layer output_width units"
    )


# --- what a good builder gets and gives ---------------------------------------------------------


def test_the_builder_gets_the_params_widths_and_activation(tmp_path):
    path = write(
        tmp_path,
        "models_g.py",
        GOOD.replace(
            "    inputs =",
            "    SEEN.append((params['dense'], input_width, output_width, output_activation))\n    inputs =",
        )
        + "\nSEEN = []\n",
    )
    model = build(f"{path}:build", n_features=12, n_outputs=1, activation="linear")
    module = sys.modules[plugin_module_name(path)]
    assert module.SEEN == [([4], 12, 1, "linear")]
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert not model.compiled  # the trial compiles it


def test_a_module_reference_is_found_on_the_workflow_directory(tmp_path, monkeypatch):
    write(tmp_path, "lab_models/__init__.py", "")
    write(tmp_path, "lab_models/attention.py", GOOD)
    monkeypatch.chdir(tmp_path)
    model = build("lab_models.attention:build", n_features=6, n_outputs=3)
    assert model.output.shape[-1] == 3
    assert sys.modules["lab_models.attention"].__file__ == str(tmp_path / "lab_models" / "attention.py")
    assert sys.path[0] == str(tmp_path)


def test_a_compiled_model_keeps_its_compile(tmp_path):
    path = write(
        tmp_path,
        "models_h.py",
        GOOD.replace(
            "    return keras.Model(",
            "    model = keras.Model(",
        )
        + "    model.compile(optimizer=keras.optimizers.RMSprop(0.0123), loss='mse')\n    return model\n",
    )
    model = build(f"{path}:build")
    assert model.compiled
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.0123)


def test_import_plugin_imports_only_keras_builders(tmp_path):
    assert import_plugin(resolve_params({"model": "dense"})) is None
    path = write(tmp_path, "models_i.py", GOOD + "\nMARK = 'i'\n")
    assert import_plugin({"model": f"{path}:build"}).MARK == "i"
