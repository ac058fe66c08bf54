"""Where a model of the user's lives, and the hash of its code that is part of its trials' ids.

- A Keras builder ``package.module:function`` is found on the workflow's directory (the current
  directory) first, then on ``sys.path``; ``path/file.py:function`` is a file, relative to the
  workflow's directory unless absolute. Nothing is imported here: the file is only located.
- A training command (model ``command`` / ``improve``): every word of the command line that
  names an existing file of the workflow's directory (``python train.py`` -> ``train.py``).
- A CANDLE benchmark module (model ``candle_benchmark``): the module and its parameter file.

:func:`model_code` hashes those files' bytes (SHA-256), so that a changed builder file makes
its trials stale, and only those (:func:`candle_lib.trial.spec.trial_spec`). A module the
builder imports in turn is not hashed: change the builder's file, or its version in the config,
to re-run.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from pathlib import Path

from candle_lib.errors import CandleInputError
from candle_lib.params.specs import MODEL_REFERENCE, model_form


def builder_reference(name: str) -> tuple[str, str]:
    """(module or file, function) of a builder reference ``target:function``."""
    match = MODEL_REFERENCE.match(name)
    if match is None:
        raise CandleInputError(f"{name!r} is not module:function or file.py:function", where="model.model")
    return match["target"], match["function"]


def module_file(module: str, roots=None) -> Path | None:
    """The file of ``package.module`` under the workflow's directory or ``sys.path``, or None."""
    parts = module.split(".")
    for root in roots if roots is not None else [Path.cwd(), *map(Path, filter(None, sys.path))]:
        base = Path(root).joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def builder_file(name: str) -> Path:
    """The Python file that defines the builder ``name``; a CandleInputError naming
    ``model.model`` and the file when there is none."""
    target, _ = builder_reference(name)
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise CandleInputError(
                f"the builder's file {target} does not exist (relative paths start at the workflow's directory, "
                f"{Path.cwd()})",
                where="model.model",
            )
        return path
    found = module_file(target)
    if found is None:
        raise CandleInputError(
            f"module {target} not found on the workflow's directory ({Path.cwd()}) or the Python path; "
            "give its file instead: path/to/file.py:function",
            where="model.model",
        )
    return found


def command_files(command: str) -> list[Path]:
    """The words of ``command`` that name existing files (relative to the workflow's directory)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CandleInputError(f"cannot split the command line: {exc}", where="model.command") from None
    return [Path(word) for word in words if not word.startswith("-") and Path(word).is_file()]


def benchmark_params_file(params: dict) -> Path:
    """The benchmark's ``*_default_model.txt``: ``benchmark_params``, else the one file of that
    name beside the module."""
    if params.get("benchmark_params"):
        path = Path(params["benchmark_params"])
        if not path.is_file():
            raise CandleInputError(f"{path} does not exist", where="model.benchmark_params")
        return path
    module = Path(params["benchmark"])
    if not module.is_file():
        raise CandleInputError(f"the benchmark module {module} does not exist", where="model.benchmark")
    found = sorted(module.parent.glob("*_default_model.txt"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(p.name for p in found)})"
        raise CandleInputError(
            f"{what} *_default_model.txt beside {module}: name the benchmark's parameter file in "
            "model.benchmark_params",
            where="model.benchmark_params",
        )
    return found[0]


def code_files(params: dict) -> list[Path]:
    """The files whose content decides a trial of ``params``' model (none for a built-in one)."""
    form = model_form(params.get("model", "nt3"))
    if form == "keras":
        return [builder_file(params["model"])]
    if form in ("command", "improve"):
        return command_files(params["command"])
    if form == "candle_benchmark":
        return [Path(params["benchmark"]), benchmark_params_file(params)]
    return []


_HASHES: dict[tuple, str] = {}


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _HASHES:
        _HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _HASHES[key]


def model_code(params: dict) -> dict | None:
    """{file: hash of its bytes} of the model's code files; None for a built-in model."""
    files = code_files(params)
    if not files:
        return None
    return {str(path): _file_hash(path) for path in files}
