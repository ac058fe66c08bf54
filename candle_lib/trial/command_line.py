"""The argv and environment of a model run out of process (contract: :mod:`candle_lib.trial.command`).

Checked before any work is done, so that a command that cannot start is bad input (one
:class:`~candle_lib.errors.CandleInputError` naming ``model.command``, ``model.interpreter`` or
``model.environment``), never a failed trial.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from candle_lib.errors import CandleInputError
from candle_lib.params.declared import benchmark_declarations
from candle_lib.params.model_code import benchmark_params_file
from candle_lib.params.specs import SPECS_BY_NAME
from candle_lib.trial.command_io import BENCHMARK_OVERRIDES, CHECKPOINT_DIR, INPUT_DIR, OUTPUT_DIR

PYTHON_WORDS = ("python", "python3")
PARAMS_WORD = "{params}"  # in model.command: replaced by the hyperparameters as --name value arguments
# the built-in hyperparameters given as arguments besides the model's own (IMPROVE's train scripts require them)
ARGUMENT_PARAMS = ("epochs", "batch_size", "learning_rate")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
ENVIRONMENT_ENTRY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)\Z", re.DOTALL)
RUNNER = Path(__file__).with_name("candle_benchmark_runner.py")


def python_executable(params: dict) -> str:
    """``interpreter`` (a path, relative to the workflow's directory, or a name on PATH), else the
    workflow's own Python."""
    interpreter = params.get("interpreter") or ""
    if not interpreter:
        return sys.executable
    return _executable(interpreter, "model.interpreter", "the interpreter")


def _executable(word: str, where: str, what: str) -> str:
    if os.sep in word or Path(word).is_file():  # a path (relative to the workflow's directory), else a name on PATH
        path = Path(word).absolute()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        problem = "is not executable" if path.is_file() else "does not exist"
        raise CandleInputError(f"{what} {word} {problem} (relative to {Path.cwd()})", where=where)
    found = shutil.which(word)
    if found is None:
        raise CandleInputError(f"{what} {word!r} is not found on PATH", where=where)
    return found


def argument_value_words(value) -> list[str]:
    """A hyperparameter's value as command-line words: true/false, numbers as Python writes
    them, a list as one word per item (argparse ``nargs='+'``), a mapping as JSON."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list):
        return [word for item in value for word in argument_value_words(item)]
    if isinstance(value, dict):
        return [json.dumps(value, sort_keys=True)]
    return [str(value)]


def argument_words(params: dict) -> list[str]:
    """``--name value`` of epochs, batch_size, learning_rate and every hyperparameter the project
    does not define itself (those the config or the model declares), in name order."""
    names = [n for n in ARGUMENT_PARAMS if n in params] + sorted(n for n in params if n not in SPECS_BY_NAME)
    return [word for name in names for word in (f"--{name}", *argument_value_words(params[name]))]


def _split(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CandleInputError(f"cannot split the command line {command!r}: {exc}", where="model.command") from None
    if not words:
        raise CandleInputError("the command line is empty", where="model.command")
    return words


def _user_command(params: dict) -> list[str]:
    """model.command as argv: python -> the interpreter, {params} -> the arguments, words that
    name files of the workflow's directory made absolute (the command runs in the trial's)."""
    words = _split(params["command"])
    argv = []
    for position, word in enumerate(words):
        if word == PARAMS_WORD:
            argv += argument_words(params)
        elif position == 0 and word in PYTHON_WORDS:
            argv.append(python_executable(params))
        elif position == 0:
            argv.append(_executable(word, "model.command", "the command"))
        elif not word.startswith("-") and Path(word).exists():
            argv.append(str(Path(word).absolute()))
        else:
            argv.append(word)
    if words[0] in PYTHON_WORDS and len(words) > 1 and words[1].endswith(".py") and not Path(words[1]).is_file():
        raise CandleInputError(
            f"the script {words[1]} does not exist (relative to {Path.cwd()})", where="model.command"
        )
    return argv


def benchmark_overrides(params: dict, trial_dir: Path) -> dict:
    """What the runner sets in the benchmark's params: the trial's value of every key of its
    ``*_default_model.txt``, and its output_dir and save_path (``<trial>/command_output``)."""
    keys = [spec.name for spec in benchmark_declarations(benchmark_params_file(params))]
    overrides = {key: params[key] for key in keys if key in params}
    output = str((trial_dir / OUTPUT_DIR).absolute())
    return overrides | {"output_dir": output, "save_path": output}


def command_argv(form: str, params: dict, trial_dir: Path) -> list[str]:
    """The argv of a trial of ``form`` (command, improve or candle_benchmark)."""
    trial_dir = trial_dir.absolute()
    if form == "candle_benchmark":
        module = Path(params["benchmark"])
        if not module.is_file():
            raise CandleInputError(f"the benchmark module {module} does not exist", where="model.benchmark")
        return [
            python_executable(params),
            str(RUNNER),
            str(module.absolute()),
            str(trial_dir / INPUT_DIR / BENCHMARK_OVERRIDES),
            str(trial_dir / OUTPUT_DIR),
        ]
    argv = _user_command(params)
    if form == "improve":
        argv += argument_words(params)
        argv += ["--input_dir", str(trial_dir / INPUT_DIR), "--output_dir", str(trial_dir / OUTPUT_DIR)]
    return argv


def user_environment(params: dict) -> dict:
    """``environment``'s NAME=value entries as a mapping."""
    entries = {}
    for number, entry in enumerate(params.get("environment") or []):
        match = ENVIRONMENT_ENTRY.match(entry)
        if match is None:
            raise CandleInputError(f"{entry!r} is not NAME=value", where=f"model.environment[{number}]")
        entries[match["name"]] = match["value"]
    return entries


def command_environment(params: dict, trial_dir: Path, *, threads: int, trial: str) -> dict:
    """The parent's environment (the GPU slot's CUDA_VISIBLE_DEVICES/HIP_VISIBLE_DEVICES pass
    through), then ``environment``, the thread counts where neither sets them, and the CANDLE_*
    variables of the contract."""
    trial_dir = trial_dir.absolute()
    env = dict(os.environ) | user_environment(params)
    for name in THREAD_VARIABLES:
        env.setdefault(name, str(max(1, threads)))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env | {
        "CANDLE_TRIAL_ID": trial,
        "CANDLE_TRIAL_DIR": str(trial_dir),
        "CANDLE_INPUT_DIR": str(trial_dir / INPUT_DIR),
        "CANDLE_PARAMS": str(trial_dir / INPUT_DIR / "params.json"),
        "CANDLE_OUTPUT_DIR": str(trial_dir / OUTPUT_DIR),
        "CANDLE_CHECKPOINT_DIR": str(trial_dir / CHECKPOINT_DIR),
        "CANDLE_THREADS": str(max(1, threads)),
    }


def visible_device(env: dict) -> str:
    """'gpu:<visible devices>' when the slot gave the command GPUs, else 'cpu'."""
    for name in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"):
        value = env.get(name, "")
        if value and value != "-1":
            return f"gpu:{value}"
    return "cpu"
