"""Getting a GPU TensorFlow, checked without a GPU or a network: the CUDA lock and the CPU lock
agree on everything but TensorFlow's build, the conda env of the CUDA build pins what the lock
pins, `make venv TF=cuda` installs from the CUDA lock (and switches a venv between builds, with
pip and python faked), and bench/gpu_check.sh skips its GPU parts where there is no GPU."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CPU_LOCK, CUDA_LOCK = REPO / "requirements.lock", REPO / "requirements-cuda.lock"
GPU_CHECK = REPO / "bench" / "gpu_check.sh"
BASH = "/bin/bash"

# What tensorflow[and-cuda] 2.21.0 pulls on linux x86_64 (its Requires-Dist for the extra), and
# the one distribution the CPU build is: the only pins the two locks may differ in.
NVIDIA = {
    f"nvidia-{lib}-cu12"
    for lib in (
        "cublas",
        "cuda-cupti",
        "cuda-nvcc",
        "cuda-nvrtc",
        "cuda-runtime",
        "cudnn",
        "cufft",
        "curand",
        "cusolver",
        "cusparse",
        "nccl",
        "nvjitlink",
    )
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            assert normalise(name) not in pins, f"{path.name} pins {name} twice"
            pins[normalise(name)] = version.strip()
    return pins


def env_pip_pins(path: Path) -> dict[str, tuple[str, str]]:
    """{name: (extras, version)} of an env file's pip section (every entry pinned with ==)."""
    (pip,) = [d["pip"] for d in yaml.safe_load(path.read_text())["dependencies"] if isinstance(d, dict)]
    pins = {}
    for requirement in pip:
        if requirement.startswith("-e "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[a-z-]+\])?==(\S+)", requirement)
        assert match, f"{path.name}: {requirement!r} is not pinned with =="
        pins[normalise(match.group(1))] = (match.group(2) or "", match.group(3))
    return pins


def test_the_cuda_lock_pins_tensorflow_2_21_with_its_cuda_wheels_and_not_the_cpu_build():
    cuda = lock_pins(CUDA_LOCK)
    assert cuda["tensorflow"] == "2.21.0"
    assert {name for name in cuda if name.startswith("nvidia-")} == NVIDIA
    assert cuda["nvidia-cudnn-cu12"].startswith("9.")
    assert cuda["nvidia-cuda-runtime-cu12"].startswith("12.")
    assert "tensorflow-cpu" not in cuda
    assert not re.search(r"(?im)^tensorflow[-_]cpu", CUDA_LOCK.read_text())


def test_the_two_locks_differ_only_in_the_tensorflow_build():
    cpu, cuda = lock_pins(CPU_LOCK), lock_pins(CUDA_LOCK)
    assert set(cpu) - set(cuda) == {"tensorflow-cpu"}
    assert set(cuda) - set(cpu) == {"tensorflow"} | NVIDIA
    assert cpu["tensorflow-cpu"] == cuda["tensorflow"]
    differing = {name: (cpu[name], cuda[name]) for name in set(cpu) & set(cuda) if cpu[name] != cuda[name]}
    assert differing == {}


def test_the_cuda_env_is_the_cpu_env_with_the_cuda_build_at_the_locked_versions():
    cuda_env, cpu_env = env_pip_pins(REPO / "envs" / "train-cuda.yaml"), env_pip_pins(REPO / "envs" / "train.yaml")
    lock = lock_pins(CUDA_LOCK)
    for name, (_, version) in cuda_env.items():
        assert version == lock[name], f"train-cuda.yaml: {name}=={version}, requirements-cuda.lock has {lock[name]}"
    assert cuda_env["tensorflow"] == ("[and-cuda]", "2.21.0")
    assert {name: pin for name, pin in cpu_env.items() if name != "tensorflow-cpu"} == {
        name: pin for name, pin in cuda_env.items() if name != "tensorflow" and name not in NVIDIA
    }
    assert NVIDIA <= set(cuda_env)
    assert "-e .." in yaml.safe_load((REPO / "envs" / "train-cuda.yaml").read_text())["dependencies"][-1]["pip"]


def test_the_cuda_extra_asks_for_the_locked_tensorflow():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (tensorflow,) = [r for r in extras["cuda"] if r.startswith("tensorflow")]
    assert tensorflow == f"tensorflow[and-cuda]=={lock_pins(CUDA_LOCK)['tensorflow']}"


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=60
    )


def test_make_venv_dry_run_names_the_lock_of_the_asked_build(tmp_path):
    venv = str(tmp_path / "x")
    cuda = make("-n", "venv", "TF=cuda", f"VENV={venv}")
    assert cuda.returncode == 0, cuda.stderr
    assert "-r requirements-cuda.lock" in cuda.stdout and "-r requirements.lock" not in cuda.stdout
    assert f"touch {venv}/.installed-cuda" in cuda.stdout
    cpu = make("-n", "venv", f"VENV={venv}")
    assert cpu.returncode == 0, cpu.stderr
    assert "-r requirements.lock" in cpu.stdout and "requirements-cuda.lock" not in cpu.stdout
    assert f"touch {venv}/.installed\n" in cpu.stdout
    other = make("-n", "venv", "TF=rocm", f"VENV={venv}")
    assert other.returncode != 0 and "TF=rocm: choose cpu (the default) or cuda" in other.stderr


FAKE_PYTHON = """#!/bin/sh
# python3 -m venv DIR: a venv whose pip only writes its arguments to DIR/pip.log
[ "$1" = -m ] && [ "$2" = venv ] || exit 2
mkdir -p "$3/bin"
printf '#!/bin/sh\\necho "$*" >> %s/pip.log\\n' "$3" > "$3/bin/pip"
chmod +x "$3/bin/pip"
"""


def test_make_venv_switches_a_venv_between_builds_and_later_commands_keep_its_build(tmp_path):
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    venv = tmp_path / "venv"
    log = venv / "pip.log"

    def venv_run(*args: str) -> list[str]:
        before = log.read_text().splitlines() if log.exists() else []
        done = make("venv", f"VENV={venv}", f"PYTHON={python}", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return log.read_text().splitlines()[len(before) :]

    nvidia = " ".join(sorted(NVIDIA))
    assert venv_run("TF=cuda") == [
        "install --quiet --upgrade pip",
        "install --quiet -r requirements-cuda.lock",
        "install --quiet --no-deps -e .",
    ]
    assert (venv / ".installed-cuda").exists() and not (venv / ".installed").exists()
    assert venv_run() == []  # no TF=: the venv keeps its CUDA build
    assert venv_run("TF=cpu") == [
        "install --quiet --upgrade pip",
        f"uninstall --quiet --yes tensorflow {nvidia}",
        "install --quiet -r requirements.lock",
        "install --quiet --no-deps -e .",
    ]
    assert (venv / ".installed").exists() and not (venv / ".installed-cuda").exists()
    assert venv_run() == []
    assert venv_run("TF=cuda")[1] == "uninstall --quiet --yes tensorflow-cpu"


def test_gpu_check_is_valid_bash():
    done = subprocess.run([BASH, "-n", str(GPU_CHECK)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "set -euo pipefail" in GPU_CHECK.read_text()


def fake_command(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.mark.parametrize("nvidia_smi", [None, "echo 'NVIDIA-SMI has failed' >&2; exit 9"], ids=["absent", "failing"])
def test_gpu_check_without_a_gpu_skips_and_installs_nothing(tmp_path, nvidia_smi):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_command(bin_dir, "make", f"echo make >> {tmp_path}/called")
    if nvidia_smi:
        fake_command(bin_dir, "nvidia-smi", nvidia_smi)
    env = {"PATH": str(bin_dir), "VENV": str(tmp_path / "venv-cuda")}  # nothing else on PATH
    done = subprocess.run([BASH, str(GPU_CHECK)], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "no NVIDIA GPU here (nvidia-smi absent or failing): skipping the GPU parts" in done.stdout
    assert not (tmp_path / "venv-cuda").exists() and not (tmp_path / "called").exists()


def test_gpu_check_with_a_gpu_installs_the_cuda_build_into_its_venv_first(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_command(bin_dir, "nvidia-smi", 'case "$1" in -L) echo "GPU 0: Fake";; *) echo 0;; esac')
    fake_command(bin_dir, "make", f'echo "$*" > {tmp_path}/make-args; exit 3')  # the install fails: stop there
    venv = tmp_path / "venv-cuda"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "VENV": str(venv)}
    done = subprocess.run([BASH, str(GPU_CHECK)], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 3
    assert "gpu_check: 1 GPU(s) to use: 0" in done.stdout
    assert (tmp_path / "make-args").read_text() == f"venv TF=cuda VENV={venv}\n"
    assert (venv / ".gitignore").read_text() == "*\n"


def test_the_gpu_check_table_gives_samples_per_second_and_ratios(tmp_path):
    def result(label, kind, setting, seconds, concurrent=False, device="gpu:0"):
        record = {"label": label, "kind": kind, "setting": setting, "concurrent": concurrent, "device": device}
        record |= {"precision": "float32" if setting == "off" else "mixed_bfloat16", "n_train": 1120}
        return "RESULT " + json.dumps({**record, "epoch_seconds": seconds, "val_loss": [0.7, 0.5]})

    lines = [
        result("trial off", "trial", "off", [9.0, 2.0, 2.2, 2.1]),  # median of epochs 2..4: 2.1 s
        result("bare off", "bare", "off", [5.0, 1.75, 1.75, 1.75]),
        result("pair off", "trial", "off", [9.0, 4.2, 4.2, 4.2], concurrent=True, device="gpu:1"),
        "some other output",
    ]
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "_gpu_trial.py"), "table", str(results)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0] + " " + line.split()[1]: line.split() for line in done.stdout.splitlines()[1:]}
    # 1120 / 2.1 = 533.3 samples/s; bare 1120 / 1.75 = 640.0; trial/bare = 0.833; pair 1120 / 4.2 = 266.7, 0.5 of alone
    assert rows["trial off"][2:7] == ["float32", "gpu:0", "533.3", "2.10", "0.5000"]
    assert rows["trial off"][7:] == ["0.833", "trial/bare"]
    assert rows["bare off"][4:] == ["640.0", "1.75", "0.5000", "-"]
    assert rows["pair off"][2:] == [
        "float32",
        "gpu:1",
        "266.7",
        "4.20",
        "0.5000",
        "0.500",
        "vs",
        "the",
        "trial",
        "alone",
    ]


@pytest.mark.parametrize(
    "site, way",
    [
        ("perlmutter", ("make venv TF=cuda", "resources.tensorflow: cuda")),
        ("polaris", ("make venv TF=cuda", "resources.tensorflow: cuda")),
        ("frontier", ("ROCm", "resources.envmodules", "--sdm env-modules")),
        ("summit", ("ppc64le", "resources.envmodules", "--sdm env-modules")),
    ],
)
def test_each_site_profile_says_at_its_top_which_tensorflow_it_uses(site, way):
    for profile in (REPO / "profiles" / site / "config.yaml", REPO / "profiles" / site / "allocation" / "config.yaml"):
        lines = profile.read_text().splitlines()
        header = " ".join(line[1:].strip() for line in lines[: next(i for i, x in enumerate(lines) if x[:1] != "#")])
        for words in way:
            assert words in header, f"{profile.relative_to(REPO)}: its header does not say {words!r}"
