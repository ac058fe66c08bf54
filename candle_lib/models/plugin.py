"""A Keras model of the user's own: the builder that ``model.model`` names, imported and checked.

The builder contract
--------------------
``model.model`` names the builder in one of two ways:

- ``package.module:function``: a module found on the workflow's directory (the current directory,
  put first on ``sys.path``), then on the Python path; imported with :func:`importlib.import_module`
  under its own name;
- ``path/to/file.py:function``: a file, relative to the workflow's directory unless absolute;
  imported under the module name ``candle_plugin_<stem>`` (:func:`plugin_module_name`), the same in
  every process, and registered in ``sys.modules``. The workflow's directory is first on
  ``sys.path`` here too, so the file may import modules of the workflow's directory.

The function is called with four positional arguments::

    build(params, input_width, output_width, output_activation) -> keras.Model

- ``params``: a copy of the trial's resolved hyperparameters (a dict: every built-in one, and the
  ones the model declares in its module's literal ``HYPERPARAMETERS = {...}`` or in the config's
  ``hyperparameters`` section), with their declared types;
- ``input_width``: features per input row (int); the model gets 2-D input (rows, input_width),
  scaled by the trial's scaler (no channel axis);
- ``output_width``: units of the output layer (int): the classes (or the code word's bits), 1 for a
  regression, the features for a reconstruction;
- ``output_activation``: ``"softmax"`` (one-hot classes), ``"sigmoid"`` (code words) or ``"linear"``
  (regression), or the configured ``out_activation``.

It returns a ``keras.Model`` with one input whose last dimension is ``input_width`` (or None) and
one output of shape (rows, output_width). The model may be uncompiled (the trial compiles it with
the configured optimizer, learning rate, the task's loss and metrics) or compiled (the trial keeps
the user's compile: its optimizer, loss and metrics; the trial's own metrics are computed from the
predictions either way). A subclassed model is called once on a row of zeros to check its shapes.

Custom layers are saved in Keras' own format (``model.keras``) and loaded in safe mode: a custom
layer must be a class decorated with ``@keras.saving.register_keras_serializable(package=...)``
with a ``get_config`` that returns its constructor's arguments; a ``Lambda`` layer is refused at
load. :func:`import_plugin` imports the builder's module, which registers those classes, before
every load of a trial's model.

A builder that breaks the contract (module or file not found, an error while importing it, no
such function, a signature that does not take the four arguments, a result that is not a Keras
model, wrong input or output width) is bad input, the same for every trial: a
:class:`BuilderContractError` (a :class:`~candle_lib.errors.CandleInputError` naming
``model.model`` and the file) that fails the job with one line. An error the builder itself raises
for some hyperparameter values is a failed trial, like any error of model code.

:func:`builder_problem` checks the function's definition from the file's syntax tree, without
importing it (config validation uses it before TensorFlow starts).
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from candle_lib.errors import CandleInputError
from candle_lib.params.model_code import builder_file, builder_reference
from candle_lib.params.specs import model_form

MODULE_PREFIX = "candle_plugin_"
BUILDER_ARGUMENTS = ("params", "input_width", "output_width", "output_activation")
WHERE = "model.model"


class BuilderContractError(CandleInputError):
    """A builder that breaks the contract of this module: bad input, not a failed trial."""


def _fail(message: str, path) -> BuilderContractError:
    return BuilderContractError(message, source=str(path) if path else None, where=WHERE)


def plugin_module_name(path) -> str:
    """The module name a builder file is imported under: ``candle_plugin_<stem>`` (the stem's
    characters that are not letters, digits or _ become _)."""
    return MODULE_PREFIX + re.sub(r"\W", "_", Path(path).stem)


# ---------------------------------------------------------------- the definition, without importing


def _positional_problem(args: ast.arguments, skip: int = 0) -> str | None:
    positional = [*args.posonlyargs, *args.args][skip:]
    required = len(positional) - len(args.defaults)
    if args.vararg is None and len(positional) < len(BUILDER_ARGUMENTS):
        return f"takes {len(positional)} positional parameter(s); it must take 4: {', '.join(BUILDER_ARGUMENTS)}"
    if required > len(BUILDER_ARGUMENTS):
        return f"requires {required} positional parameters; it is called with 4: {', '.join(BUILDER_ARGUMENTS)}"
    missing = [arg.arg for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is None]
    if missing:
        return (
            f"has keyword-only parameter(s) without a default ({', '.join(missing)}); it is called with 4 "
            "positional arguments"
        )
    return None


def _class_problem(node: ast.ClassDef) -> str | None:
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "__init__":
            return _positional_problem(item.args, skip=1)
    return None  # an inherited __init__: not checked here


def builder_problem(path, function: str) -> str | None:
    """What is wrong with ``function`` of the file ``path`` as a builder, read from its syntax tree
    (the module is not imported): a syntax error, no top-level definition of that name, or a
    signature that cannot be called with the 4 positional arguments. None when nothing is found
    wrong (a name bound at top level some other way, e.g. imported, is not checked further)."""
    path = Path(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return f"Python syntax error at line {exc.lineno}: {exc.msg}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read the file: {exc}"
    for node in reversed(list(_module_level(tree.body))):  # the last definition of a name is the one that counts
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            problem = _positional_problem(node.args)
            return f"{function}() {problem}" if problem else None
        if isinstance(node, ast.ClassDef) and node.name == function:
            problem = _class_problem(node)
            return f"class {function}'s __init__ {problem}" if problem else None
        if function in _bound_names(node):
            return None
    return f"no function {function}() defined at the top level of the module"


def _module_level(body: list[ast.stmt]):
    """The statements that run at a module's top level, in order, those inside its if/try/with/for
    blocks included (not those of its functions or classes)."""
    for node in body:
        yield node
        blocks = [getattr(node, name, []) for name in ("body", "orelse", "finalbody")]
        blocks += [handler.body for handler in getattr(node, "handlers", [])]
        blocks += [case.body for case in getattr(node, "cases", [])]
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in blocks:
                yield from _module_level(block)


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return set()


# ---------------------------------------------------------------- importing


def _workflow_dir_first() -> None:
    cwd = os.getcwd()
    if not sys.path or sys.path[0] != cwd:
        if cwd in sys.path:
            sys.path.remove(cwd)
        sys.path.insert(0, cwd)


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


_IMPORTED: dict[str, tuple] = {}  # module name -> the _file_key of the file it was imported from


def _is_current(name: str, key: tuple) -> bool:
    """Whether ``sys.modules[name]`` is the module of the file of ``key``, as that file is now
    (not a module of another directory, not an older version of the file)."""
    module = sys.modules.get(name)
    if module is None:
        return False
    if name in _IMPORTED:
        return _IMPORTED[name] == key
    file = getattr(module, "__file__", None)  # imported by the user's own code: take it if it is the file
    if file is None or str(Path(file).resolve()) != key[0]:
        return False
    _IMPORTED[name] = key
    return True


def _user_line(exc: BaseException, path: Path) -> str:
    """' (line N)' of the deepest frame of ``exc`` in the user's file, else ''."""
    resolved = str(path.resolve())
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename) == resolved]
    if isinstance(exc, SyntaxError) and exc.filename and os.path.abspath(exc.filename) == resolved:
        lines.append(exc.lineno)
    return f" (line {lines[-1]})" if lines else ""


def _import_error(exc: Exception, path: Path) -> BuilderContractError:
    return _fail(f"importing the builder's module failed{_user_line(exc, path)}: {type(exc).__name__}: {exc}", path)


def _import_file(path: Path) -> ModuleType:
    name = plugin_module_name(path)
    key = _file_key(path)
    if _is_current(name, key):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _import_error(exc, path) from None
    _IMPORTED[name] = key
    return module


def _package_root(target: str, path: Path) -> Path:
    """The directory on ``sys.path`` that ``target`` (whose file is ``path``) was found under."""
    depth = target.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.resolve().parents[depth]


def _import_module(target: str, path: Path) -> ModuleType:
    key = _file_key(path)
    if not _is_current(target, key):
        # imported before from another directory, or its file changed since: import it afresh, with
        # the parent packages that do not live under the directory it is found in now
        root = _package_root(target, path)
        stale = [n for n in sys.modules if n == target or n.startswith(target + ".")]
        for parent in _parents(target):
            file = getattr(sys.modules.get(parent), "__file__", None)
            if parent in sys.modules and (file is None or root not in Path(file).resolve().parents):
                stale.append(parent)
        for name in stale:
            del sys.modules[name]
            _IMPORTED.pop(name, None)
        importlib.invalidate_caches()
    try:
        module = importlib.import_module(target)
    except Exception as exc:
        raise _import_error(exc, path) from None
    _IMPORTED[target] = key
    return module


def _parents(target: str) -> list[str]:
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_plugin(params: dict) -> ModuleType | None:
    """Import the module of the builder ``params['model']`` names (so that the custom layers it
    registers exist before a model.keras of it is loaded); None for a model that is not a Keras
    builder of the user's. Raises :class:`BuilderContractError` when the module cannot be found
    or imported."""
    name = params.get("model", "")
    if model_form(name) != "keras":
        return None
    target, _ = builder_reference(name)
    try:
        path = builder_file(name)
    except CandleInputError as exc:
        raise BuilderContractError(str(exc).removeprefix(f"{WHERE}: "), where=WHERE) from None
    _workflow_dir_first()
    if target.endswith(".py"):
        return _import_file(path)
    return _import_module(target, path)


def load_builder(name: str):
    """(the builder function, its file) of the reference ``name``."""
    module = import_plugin({"model": name})
    _, function = builder_reference(name)
    path = Path(module.__file__)
    builder = getattr(module, function, None)
    if builder is None:
        defined = sorted(
            n for n, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__
        )
        hint = f" (its functions: {', '.join(defined)})" if defined else ""
        raise _fail(f"the module defines no {function}(){hint}", path)
    if not callable(builder):
        raise _fail(f"{function} is a {type(builder).__name__}, not a function", path)
    try:
        inspect.signature(builder).bind(*BUILDER_ARGUMENTS)
    except TypeError as exc:
        raise _fail(
            f"{function}() cannot be called as {function}({', '.join(BUILDER_ARGUMENTS)}): {exc}", path
        ) from None
    except ValueError:  # no signature to inspect (a builtin): left to the call
        pass
    return builder, path


# ---------------------------------------------------------------- building and checking


def _dims(shape) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def _output_shape(model, input_width: int, function: str, path) -> tuple:
    """The output shape of ``model``: its symbolic output, else that of a call on a row of zeros."""
    import numpy as np

    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if inputs and outputs:
        if len(inputs) != 1:
            raise _fail(f"{function}() returned a model with {len(inputs)} inputs; it must take one", path)
        shape = _dims(inputs[0].shape)
        if len(shape) != 2 or shape[-1] not in (None, input_width):
            raise _fail(
                f"{function}() returned a model whose input has shape {shape}; the trial feeds rows of "
                f"{input_width} features: (None, {input_width})",
                path,
            )
        if len(outputs) != 1:
            raise _fail(f"{function}() returned a model with {len(outputs)} outputs; it must have one", path)
        return _dims(outputs[0].shape)
    try:
        result = model(np.zeros((1, input_width), dtype="float32"))
    except Exception as exc:  # noqa: BLE001 -- the contract is what is checked here
        raise _fail(
            f"the model {function}() returned fails on a row of {input_width} features: {type(exc).__name__}: {exc}",
            path,
        ) from None
    if isinstance(result, (list, tuple, dict)):
        raise _fail(f"{function}() returned a model with several outputs; it must have one", path)
    return _dims(result.shape)


def check_built_model(model, input_width: int, output_width: int, function: str, path) -> None:
    """A BuilderContractError when ``model`` is not a Keras model of one input of ``input_width``
    features and one output of ``output_width`` units per row."""
    import keras

    if not isinstance(model, keras.Model):
        raise _fail(f"{function}() returned {type(model).__name__}, not a keras.Model", path)
    shape = _output_shape(model, input_width, function, path)
    if len(shape) != 2 or shape[-1] != output_width:
        raise _fail(
            f"{function}() returned a model whose output has shape {shape}; this task needs {output_width} "
            f"value(s) per row, (None, {output_width}): give the output layer output_width units",
            path,
        )


def build_plugin_model(params: dict, input_width: int, output_width: int, output_activation: str):
    """The user's model for ``params`` (see the module doc), checked; compiled or not as the
    builder left it."""
    builder, path = load_builder(params["model"])
    _, function = builder_reference(params["model"])
    model = builder(copy.deepcopy(params), int(input_width), int(output_width), output_activation)
    check_built_model(model, int(input_width), int(output_width), function, path)
    return model
