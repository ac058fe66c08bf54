"""end_process: a process that loaded TensorFlow ends without the interpreter's teardown, yet
with its exit code, its buffered output and its atexit functions, as a normal exit has them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

PROGRAM = textwrap.dedent(
    """
    import atexit, sys
    {imports}
    from candle_lib.process_exit import end_process

    atexit.register(lambda: open(sys.argv[1], "w").write("atexit ran"))
    print("buffered line", end="")  # stdout is a pipe: block-buffered, not yet written
    sys.stderr.write("stderr line")
    end_process(3)
    print("after end_process")
    """
)


def run(tmp_path, imports: str) -> tuple[subprocess.CompletedProcess, str]:
    marker = tmp_path / "atexit.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(imports=imports), str(marker)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    return done, marker.read_text() if marker.exists() else ""


def test_with_tensorflow_loaded_the_process_ends_at_once_with_everything_flushed(tmp_path):
    done, marker = run(tmp_path, "import tensorflow")
    assert done.returncode == 3
    assert done.stdout == "buffered line"  # flushed before os._exit, and nothing ran after
    assert done.stderr.endswith("stderr line")
    assert marker == "atexit ran"


def test_without_tensorflow_it_is_a_normal_exit(tmp_path):
    done, marker = run(tmp_path, "")
    assert "tensorflow" not in done.stderr
    assert (done.returncode, done.stdout, marker) == (3, "buffered line", "atexit ran")


def test_the_candle_command_ends_through_it():
    """The console script and python -m candle_lib call console_main, which ends the process
    with main's exit code (2: argparse's error for an unknown command)."""
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["candle"] == "candle_lib.cli:console_main"
    done = subprocess.run([sys.executable, "-m", "candle_lib", "no-such-command"], capture_output=True, cwd=REPO)
    assert done.returncode == 2
    done = subprocess.run([sys.executable, "-m", "candle_lib", "--help"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "trial" in done.stdout
