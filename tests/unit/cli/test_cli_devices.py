"""``candle devices`` on this CPU machine: a CPU build, no GPU, auto precision float32."""

from __future__ import annotations

import json

from candle_lib.cli import commands as cli


def test_devices_json_on_a_cpu_machine(monkeypatch, capsys):
    import tensorflow as tf

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, whatever the machine has
    monkeypatch.delenv("HIP_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("ROCR_VISIBLE_DEVICES", raising=False)
    assert cli.main(["devices", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tensorflow"]["version"] == tf.__version__
    if not tf.test.is_built_with_cuda():  # the pinned CPU build (CI, this machine)
        assert report["tensorflow"] == {
            "version": tf.__version__,
            "build": "cpu",
            "cuda_version": None,
            "cudnn_version": None,
        }
    assert report["gpus"] == []
    assert report["mixed_precision_auto"] == "float32"
    assert report["environment"] == {
        "CUDA_VISIBLE_DEVICES": "",
        "HIP_VISIBLE_DEVICES": None,
        "ROCR_VISIBLE_DEVICES": None,
    }


def test_devices_lines(monkeypatch, capsys):
    from candle_lib.hpc import devices

    monkeypatch.setattr(devices, "tensorflow_build", lambda: {**_CUDA, "version": "2.21.0"})
    monkeypatch.setattr(
        devices,
        "visible_gpus",
        lambda: [devices.gpu_entry(0, {"device_name": "Tesla V100-SXM2-16GB", "compute_capability": (7, 0)})],
    )
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    monkeypatch.delenv("HIP_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("ROCR_VISIBLE_DEVICES", raising=False)
    assert cli.main(["devices"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "TensorFlow 2.21.0, cuda build (CUDA 12.5.1, cuDNN 9)",
        "GPUs visible to TensorFlow: 1",
        "  0: Tesla V100-SXM2-16GB, compute capability 7.0, mixed_precision: auto -> mixed_float16",
        "mixed_precision: auto -> mixed_float16 for a trial on these devices",
        "CUDA_VISIBLE_DEVICES=2",
        "HIP_VISIBLE_DEVICES=(unset)",
        "ROCR_VISIBLE_DEVICES=(unset)",
    ]


_CUDA = {"build": "cuda", "cuda_version": "12.5.1", "cudnn_version": "9"}
