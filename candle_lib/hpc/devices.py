"""What TensorFlow can run on here: its build (CPU, CUDA or ROCm), the GPUs it sees, the mixed
precision each supports, and the check that a trial given a GPU can use it.

TensorFlow is imported inside :func:`tensorflow_build` and :func:`visible_gpus` only; every
decision is a pure function of what they return (:func:`build_summary`, :func:`gpu_entry`,
:func:`mixed_precision_policy`, :func:`require_visible_gpu`), so it is tested without a GPU.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from candle_lib.errors import CandleInputError

FLOAT32, FLOAT16, BFLOAT16 = "float32", "mixed_float16", "mixed_bfloat16"
PRECISION_SETTINGS = (False, True, "auto", "float16", "bfloat16", "off")  # the mixed_precision hyperparameter
GPU_FALLBACKS = ("error", "cpu")  # resources.gpu_fallback
# AMD Instinct GPUs with bfloat16 matrix cores: MI200 (gfx90a) and MI300 (gfx94x), by architecture or name
AMD_BFLOAT16 = re.compile(r"gfx90a|gfx94\d|\bMI2\d\d|\bMI3\d\d", re.IGNORECASE)


def build_summary(version: str, info: Mapping, *, cuda: bool, rocm: bool) -> dict:
    """{version, build: cpu|cuda|rocm, cuda_version, cudnn_version} of a TensorFlow whose
    ``tf.sysconfig.get_build_info()`` is ``info``."""
    return {
        "version": version,
        "build": "cuda" if cuda else "rocm" if rocm else "cpu",
        "cuda_version": info.get("cuda_version"),
        "cudnn_version": info.get("cudnn_version"),
    }


def tensorflow_build() -> dict:
    """The installed TensorFlow's version and build (see :func:`build_summary`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return build_summary(
        tf.__version__,
        dict(tf.sysconfig.get_build_info()),
        cuda=tf.test.is_built_with_cuda(),
        rocm=tf.test.is_built_with_rocm(),
    )


def compute_capability(value) -> tuple[int, int] | None:
    """(8, 0) from TensorFlow's (8, 0) or a text '8.0'; None when absent or not a number pair."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    if isinstance(value, str) and re.fullmatch(r"\d+\.\d+", value):
        major, minor = value.split(".")
        return int(major), int(minor)
    return None


def gpu_entry(index: int, details: Mapping, fallback_name: str = "GPU") -> dict:
    """{index, name, compute_capability ('8.0' or None)} of one GPU from
    ``tf.config.experimental.get_device_details``."""
    capability = compute_capability(details.get("compute_capability"))
    return {
        "index": index,
        "name": details.get("device_name") or fallback_name,
        "compute_capability": f"{capability[0]}.{capability[1]}" if capability else None,
    }


def visible_gpus() -> list[dict]:
    """The GPUs this process's TensorFlow sees (after CUDA/HIP_VISIBLE_DEVICES), numbered from 0."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return [gpu_entry(i, tf.config.experimental.get_device_details(gpu), gpu.name) for i, gpu in enumerate(gpus)]


def auto_policy(gpu: Mapping) -> str:
    """What ``mixed_precision: auto`` picks for one GPU: bfloat16 from compute capability 8.0
    (A100, H100) and on AMD MI200/MI300, float16 on 7.x (V100, T4), float32 on older or unknown."""
    if AMD_BFLOAT16.search(str(gpu.get("name") or "")):
        return BFLOAT16
    capability = compute_capability(gpu.get("compute_capability"))
    if capability is None:
        return FLOAT32
    if capability >= (8, 0):
        return BFLOAT16
    return FLOAT16 if capability >= (7, 0) else FLOAT32


def mixed_precision_policy(setting, gpus: list[Mapping]) -> str:
    """The Keras policy of the ``mixed_precision`` hyperparameter on these GPUs (none = CPU):
    false/off = float32; true = float16 on a GPU, float32 on CPU (as before auto existed);
    float16/bfloat16 = that, as asked, anywhere; auto = :func:`auto_policy` of each GPU, the one
    every GPU supports when they differ, float32 on CPU."""
    if setting is False or setting == "off":
        return FLOAT32
    if setting is True:
        return FLOAT16 if gpus else FLOAT32
    if setting == "float16":
        return FLOAT16
    if setting == "bfloat16":
        return BFLOAT16
    if setting != "auto":
        raise ValueError(f"mixed_precision {setting!r} is not one of {list(PRECISION_SETTINGS)}")
    if not gpus:
        return FLOAT32
    weakest_first = (FLOAT32, FLOAT16, BFLOAT16)
    return min((auto_policy(gpu) for gpu in gpus), key=weakest_first.index)


@dataclass(frozen=True)
class BoundGpu:
    """The GPU placement gave this process: the variable that binds it, its value, and what
    ``resources.gpu_fallback`` says to do when TensorFlow cannot see it."""

    variable: str
    value: str
    fallback: str = "error"


def names_a_device(value: str | None) -> bool:
    """Whether a CUDA/HIP_VISIBLE_DEVICES value makes a device visible ('' and '-1' hide all)."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    return bool(parts) and not parts[0].startswith("-")


class GpuUnavailableError(CandleInputError):
    """A trial was given a GPU that its TensorFlow cannot use: the set-up is wrong, not the trial."""


def _advice(build: Mapping) -> str:
    if build["build"] == "cpu":
        return "install the CUDA build (make venv TF=cuda)"
    return f"check that its {build['build'].upper()} libraries and the GPU driver match this TensorFlow"


def require_visible_gpu(bound: BoundGpu | None, n_visible: int, build: Mapping, log) -> None:
    """Raise :class:`GpuUnavailableError` when a GPU was bound to this trial but TensorFlow sees
    none, unless ``resources.gpu_fallback: cpu`` allows CPU training on purpose (then one warning
    line goes to ``log``)."""
    if bound is None or n_visible > 0:
        return
    what = (
        f"TensorFlow {build['version']} {build['build']} build cannot use the GPU bound to this trial "
        f"({bound.variable}={bound.value})"
    )
    if bound.fallback == "cpu":
        log(f"warning: {what}; training on the CPU, as resources.gpu_fallback: cpu allows")
        return
    raise GpuUnavailableError(f"{what}; {_advice(build)} or set resources.gpu_fallback: cpu")


def devices_report(build: Mapping, gpus: list[Mapping], env: Mapping) -> dict:
    """What ``candle devices --json`` prints: the TensorFlow build, each visible GPU with what
    ``mixed_precision: auto`` picks for it, the policy auto picks for a trial that sees them all,
    and the variables that bind devices."""
    from candle_lib.hpc.gpu_slots import BINDING_VARIABLES

    return {
        "tensorflow": dict(build),
        "gpus": [{**gpu, "mixed_precision_auto": auto_policy(gpu)} for gpu in gpus],
        "mixed_precision_auto": mixed_precision_policy("auto", gpus),
        "environment": {name: env.get(name) for name in BINDING_VARIABLES},
    }


def report_lines(report: Mapping) -> list[str]:
    """:func:`devices_report` for people."""
    tf = report["tensorflow"]
    lines = [
        f"TensorFlow {tf['version']}, {tf['build']} build (CUDA {tf['cuda_version'] or '-'}, "
        f"cuDNN {tf['cudnn_version'] or '-'})"
    ]
    lines.append(f"GPUs visible to TensorFlow: {len(report['gpus']) or 'none'}")
    for gpu in report["gpus"]:
        lines.append(
            f"  {gpu['index']}: {gpu['name']}, compute capability {gpu['compute_capability'] or '-'}, "
            f"mixed_precision: auto -> {gpu['mixed_precision_auto']}"
        )
    lines.append(f"mixed_precision: auto -> {report['mixed_precision_auto']} for a trial on these devices")
    for name, value in report["environment"].items():
        lines.append(f"{name}={'(unset)' if value is None else value}")
    return lines
