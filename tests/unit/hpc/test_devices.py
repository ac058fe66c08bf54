"""Devices without a GPU: the mixed precision table by GPU, TensorFlow's build info, the
mixed_precision values and their trial ids, and a trial bound to a GPU its TensorFlow cannot see
(faked binding and device list) failing, or training on the CPU when gpu_fallback allows it."""

from __future__ import annotations

import json

import pytest

from candle_lib.errors import CandleInputError
from candle_lib.hpc import devices, gpu_slots, placement
from candle_lib.hpc.devices import (
    BoundGpu,
    GpuUnavailableError,
    build_summary,
    gpu_entry,
    mixed_precision_policy,
    names_a_device,
    require_visible_gpu,
)
from candle_lib.hpc.gpu_slots import Binding
from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import HOLDOUT, trial_id, trial_spec

# get_device_details as TensorFlow gives it: NVIDIA with a (major, minor) capability, ROCm by name
A100 = {"device_name": "NVIDIA A100-SXM4-40GB", "compute_capability": (8, 0)}
H100 = {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}
V100 = {"device_name": "Tesla V100-SXM2-16GB", "compute_capability": (7, 0)}
T4 = {"device_name": "Tesla T4", "compute_capability": (7, 5)}
P100 = {"device_name": "Tesla P100-PCIE-16GB", "compute_capability": (6, 0)}
MI250X = {"device_name": "AMD Instinct MI250X/MI250"}
GFX90A = {"device_name": "gfx90a:sramecc+:xnack-"}
MI100 = {"device_name": "gfx908"}


@pytest.mark.parametrize(
    "details, expected",
    [
        (A100, "mixed_bfloat16"),
        (H100, "mixed_bfloat16"),
        (V100, "mixed_float16"),
        (T4, "mixed_float16"),
        (P100, "float32"),
        (MI250X, "mixed_bfloat16"),
        (GFX90A, "mixed_bfloat16"),
        (MI100, "float32"),
    ],
)
def test_auto_picks_by_gpu(details, expected):
    assert mixed_precision_policy("auto", [gpu_entry(0, details)]) == expected


def test_auto_on_cpu_and_on_mixed_gpus():
    assert mixed_precision_policy("auto", []) == "float32"
    # the policy every visible GPU supports: an A100 also runs float16, a P100 neither
    assert mixed_precision_policy("auto", [gpu_entry(0, A100), gpu_entry(1, V100)]) == "mixed_float16"
    assert mixed_precision_policy("auto", [gpu_entry(0, H100), gpu_entry(1, P100)]) == "float32"


@pytest.mark.parametrize(
    "setting, on_gpu, on_cpu",
    [
        (False, "float32", "float32"),
        ("off", "float32", "float32"),
        (True, "mixed_float16", "float32"),  # as before auto existed
        ("float16", "mixed_float16", "mixed_float16"),  # explicit: kept
        ("bfloat16", "mixed_bfloat16", "mixed_bfloat16"),
    ],
)
def test_explicit_settings(setting, on_gpu, on_cpu):
    assert mixed_precision_policy(setting, [gpu_entry(0, V100)]) == on_gpu
    assert mixed_precision_policy(setting, []) == on_cpu


def test_gpu_entry_normalizes_the_details():
    assert gpu_entry(1, T4) == {"index": 1, "name": "Tesla T4", "compute_capability": "7.5"}
    assert gpu_entry(0, {}, "/physical_device:GPU:0") == {
        "index": 0,
        "name": "/physical_device:GPU:0",
        "compute_capability": None,
    }
    assert mixed_precision_policy("auto", [{"name": "x", "compute_capability": "8.6"}]) == "mixed_bfloat16"


def test_build_info_parsing():
    cuda_info = {
        "cpu_compiler": "/usr/lib/llvm-18/bin/clang",
        "cuda_compute_capabilities": ["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"],
        "cuda_version": "12.5.1",
        "cudnn_version": "9",
        "is_cuda_build": True,
        "is_rocm_build": False,
        "is_tensorrt_build": False,
    }
    assert build_summary("2.21.0", cuda_info, cuda=True, rocm=False) == {
        "version": "2.21.0",
        "build": "cuda",
        "cuda_version": "12.5.1",
        "cudnn_version": "9",
    }
    cpu_info = {"is_cuda_build": False, "is_rocm_build": False, "is_tensorrt_build": False}
    assert build_summary("2.21.0", cpu_info, cuda=False, rocm=False) == {
        "version": "2.21.0",
        "build": "cpu",
        "cuda_version": None,
        "cudnn_version": None,
    }
    assert build_summary("2.18.1", {"rocm_version": "6.2"}, cuda=False, rocm=True)["build"] == "rocm"


@pytest.mark.parametrize("value, names", [("0", True), ("2,3", True), ("GPU-5d1e", True), ("", False), ("-1", False)])
def test_names_a_device(value, names):
    assert names_a_device(value) is names


def test_a_binding_with_a_device_is_a_bound_gpu():
    env = {"CUDA_VISIBLE_DEVICES": "3"}
    assert placement.gpu_of_binding(Binding("launcher", "CUDA_VISIBLE_DEVICES", (3,)), "cpu", env) == BoundGpu(
        "CUDA_VISIBLE_DEVICES", "3", "cpu"
    )
    assert placement.gpu_of_binding(Binding("slot", "HIP_VISIBLE_DEVICES", (1,)), env={"HIP_VISIBLE_DEVICES": "1"})
    assert (
        placement.gpu_of_binding(Binding("launcher", "CUDA_VISIBLE_DEVICES"), env={"CUDA_VISIBLE_DEVICES": "-1"})
        is None
    )
    assert placement.gpu_of_binding(Binding("hidden", "CUDA_VISIBLE_DEVICES"), env={"CUDA_VISIBLE_DEVICES": ""}) is None
    assert placement.gpu_of_binding(Binding("none"), env={}) is None


CPU_BUILD = {"version": "2.21.0", "build": "cpu", "cuda_version": None, "cudnn_version": None}


def test_require_visible_gpu():
    lines = []
    require_visible_gpu(None, 0, CPU_BUILD, lines.append)  # nothing bound: CPU is right
    require_visible_gpu(BoundGpu("CUDA_VISIBLE_DEVICES", "0"), 1, CPU_BUILD, lines.append)  # seen
    assert lines == []
    with pytest.raises(GpuUnavailableError) as info:
        require_visible_gpu(BoundGpu("CUDA_VISIBLE_DEVICES", "0"), 0, CPU_BUILD, lines.append)
    assert str(info.value) == (
        "TensorFlow 2.21.0 cpu build cannot use the GPU bound to this trial (CUDA_VISIBLE_DEVICES=0); "
        "install the CUDA build (make venv TF=cuda) or set resources.gpu_fallback: cpu"
    )
    assert isinstance(info.value, CandleInputError)  # one clear line, the job fails
    cuda = {**CPU_BUILD, "build": "cuda"}
    with pytest.raises(GpuUnavailableError, match=r"cuda build .*HIP_VISIBLE_DEVICES=2.*CUDA libraries and the GPU"):
        require_visible_gpu(BoundGpu("HIP_VISIBLE_DEVICES", "2"), 0, cuda, lines.append)
    require_visible_gpu(BoundGpu("CUDA_VISIBLE_DEVICES", "0", "cpu"), 0, CPU_BUILD, lines.append)
    assert lines == [
        "warning: TensorFlow 2.21.0 cpu build cannot use the GPU bound to this trial (CUDA_VISIBLE_DEVICES=0); "
        "training on the CPU, as resources.gpu_fallback: cpu allows"
    ]


# --------------------------------------------------------------------------- mixed_precision values


def _id(**params):
    return trial_id(trial_spec(resolve_params(params), role=HOLDOUT, data="prep-00000000"))


def test_mixed_precision_values_and_ids():
    # ids of the code before auto existed (bool mixed_precision), for the same specs
    assert _id() == "c4e458fe088b"
    assert _id(mixed_precision=False) == "c4e458fe088b"
    assert _id(mixed_precision="off") == "c4e458fe088b"
    assert _id(mixed_precision=True) == "9450b8e460b0"
    assert resolve_params({"mixed_precision": "auto"})["mixed_precision"] == "auto"
    assert len({_id(mixed_precision=v) for v in ("auto", "float16", "bfloat16", True, False)}) == 5
    for bad in ("fp16", 1, 0, None):
        with pytest.raises(CandleInputError, match="model.mixed_precision"):
            resolve_params({"mixed_precision": bad}, where="model")


# --------------------------------------------------------------------------- a trial bound to a GPU


@pytest.fixture
def bound_to_gpu_0(monkeypatch, tmp_path):
    """This process placed with CUDA_VISIBLE_DEVICES=0 (as srun --gpus=1 sets it); TensorFlow's
    device list faked as empty (what a CPU build, or a CUDA build without its driver, sees)."""
    for name in gpu_slots.BINDING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(devices, "visible_gpus", lambda: [])
    gpu_slots.release_gpu()
    placement.forget_placement()
    yield
    gpu_slots.release_gpu()
    placement.forget_placement()


def _tiny_trial(**changes):
    params = resolve_params({"conv": [4, 10, 1], "pool": [5], "dense": [8], "epochs": 1, "batch_size": 16, **changes})
    return trial_spec(params, role=HOLDOUT, data="prep-00000000")


def test_a_trial_bound_to_an_invisible_gpu_fails_the_job(bound_to_gpu_0, tiny_prepared, tmp_path):
    from candle_lib.trial.run import run_trial

    dataset = placement.place_trial({"gpu_fallback": "error"}, tiny_prepared)
    with pytest.raises(
        GpuUnavailableError, match=r"cpu build cannot use the GPU bound to this trial \(CUDA_VISIBLE_DEVICES=0\)"
    ):
        run_trial(dataset, _tiny_trial(), tmp_path / "trial", log=lambda message: None)
    assert not (tmp_path / "trial" / "metrics.json").exists()  # not a result


def test_gpu_fallback_cpu_trains_on_the_cpu_with_a_warning(bound_to_gpu_0, tiny_prepared, tmp_path):
    import tensorflow as tf

    from candle_lib.trial.run import run_trial

    dataset = placement.place_trial({"gpu_fallback": "cpu"}, tiny_prepared)
    lines = []
    result = run_trial(dataset, _tiny_trial(mixed_precision="auto"), tmp_path / "trial", log=lines.append)
    assert result["status"] == "ok"
    assert (
        "warning: TensorFlow" in lines[0] and "training on the CPU, as resources.gpu_fallback: cpu allows" in lines[0]
    )
    written = json.loads((tmp_path / "trial" / "metrics.json").read_text())
    assert written["device"] == "cpu"
    assert written["tensorflow"] == {"version": tf.__version__, "build": "cpu"}
    assert written["precision"] == "float32"  # auto on CPU


def test_a_visible_gpu_sets_the_auto_policy(bound_to_gpu_0, monkeypatch, tiny_prepared):
    import keras

    from candle_lib.trial.tf_setup import configure_tensorflow

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    placement.place_trial({}, tiny_prepared)
    monkeypatch.setattr(devices, "visible_gpus", lambda: [gpu_entry(0, H100)])
    try:
        setup = configure_tensorflow(1, 7, mixed_precision="auto", log=pytest.fail)
        assert (setup.device, setup.precision) == ("gpu:5", "mixed_bfloat16")
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
