"""Every `snakemake ...` command line the documentation gives runs as written (as a dry run).

The command lines come from README.md, docs/*.md and config/README.md (fenced code blocks and
inline code) and from the `#` header comments of config/examples/*.yaml. Each distinct one runs
from the repository root with `-n` and `--directory <tmp>` added, and must parse and plan without
error (Snakemake 9 reads a target written after `--configfile` as a second config file, for
example). A few cannot run here; SKIPPED says why.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = re.compile(r"(?:\.venv/bin/)?snakemake(?:\s|$)")

# Documented lines that are not commands to run here, and why.
SKIPPED = {
    "placeholder": "names a placeholder (<site>, [TARGET], my.yaml): a synopsis, not a command",
    "report": "--report renders the results of an earlier run; the same command without it is checked",
}


def markdown_commands(text: str) -> list[str]:
    """`snakemake` lines of fenced code blocks (less a trailing `# comment`) and inline code."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code = line.split(" #", 1)[0].strip()
            if SNAKEMAKE.match(code):
                found.append(code)
        else:
            found.extend(span.strip() for span in re.findall(r"`([^`]+)`", line) if SNAKEMAKE.match(span))
    return found


def yaml_header_commands(text: str) -> list[str]:
    """`snakemake` commands in the `#` comments of a config file (less a trailing `# comment`)."""
    found = []
    for line in text.splitlines():
        match = re.search(r"((?:\.venv/bin/)?snakemake\s.*)", line[1:]) if line.startswith("#") else None
        if match:
            found.append(match.group(1).split("  #", 1)[0].strip())
    return found


def documented_commands() -> dict[str, list[str]]:
    """{command line: [where it is written]}."""
    sources = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "config" / "README.md"]
    commands: dict[str, list[str]] = {}
    for path in sources:
        for command in markdown_commands(path.read_text()):
            commands.setdefault(command, []).append(str(path.relative_to(REPO)))
    for path in sorted((REPO / "config" / "examples").glob("*.yaml")):
        for command in yaml_header_commands(path.read_text()):
            commands.setdefault(command, []).append(str(path.relative_to(REPO)))
    return commands


def skip_reason(words: list[str]) -> str | None:
    if any(re.search(r"[<\[]", word) for word in words) or "my.yaml" in words:
        return "placeholder"
    if "--report" in words:
        return "report"
    return None


def dry_run_args(command: str) -> tuple[str, ...]:
    """What runs for a documented line: its arguments as written, `-n` added (not to --lint and
    --unlock, which change nothing here: each runs in a fresh directory)."""
    args = shlex.split(command)[1:]
    if not {"-n", "--lint", "--unlock"} & set(args):
        args.append("-n")
    return tuple(args)


COMMANDS = documented_commands()
RUNS: dict[tuple[str, ...], list[str]] = {}
for _command in COMMANDS:
    if skip_reason(shlex.split(_command)) is None:
        RUNS.setdefault(dry_run_args(_command), []).append(_command)
# The order Snakemake 9 misreads (the target after --configfile): this check must catch it.
MISORDERED = dry_run_args("snakemake --cores all --configfile config/examples/infer_nt3.yaml infer")


def test_the_extractor_finds_the_documented_commands():
    # the lines users copy: one per target in README.md, the example configs' headers
    assert ".venv/bin/snakemake --cores all cv --configfile config/examples/cv_nt3.yaml" in COMMANDS
    assert COMMANDS["snakemake --cores all infer --configfile config/examples/infer_nt3.yaml"] == [
        "docs/workflows.md",
        "config/examples/infer_nt3.yaml",
    ]
    assert "snakemake -n --configfile config/examples/hpo_grid_11664.yaml" in COMMANDS
    assert "snakemake --cores 4 tda --configfile config/examples/tda_studies.yaml" in COMMANDS
    assert markdown_commands("text `snakemake -n` and\n```bash\n.venv/bin/snakemake x  # why\nmake run\n```\n") == [
        "snakemake -n",
        ".venv/bin/snakemake x",
    ]
    examples = sorted(path.name for path in (REPO / "config" / "examples").glob("*.yaml"))
    assert {where for places in COMMANDS.values() for where in places if where.startswith("config/examples/")} == {
        f"config/examples/{name}" for name in examples
    }
    assert all(skip_reason(shlex.split(c)) in (None, *SKIPPED) for c in COMMANDS)


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """Every distinct command, two at a time (a dry run is a few seconds of one core)."""
    root = tmp_path_factory.mktemp("documented")

    def run(item):
        number, args = item
        workdir = root / str(number)
        workdir.mkdir()
        # a model's file in a config (config/examples/models/...) is relative to the workflow's
        # directory, the repository root when the line runs as written
        (workdir / "config").symlink_to(REPO / "config")
        command = [sys.executable, "-m", "snakemake", *args, "--directory", str(workdir)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        return args, subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, enumerate([*RUNS, MISORDERED])))


def test_a_target_written_after_configfile_fails_the_check(dry_runs):
    result = dry_runs[MISORDERED]
    assert result.returncode != 0
    assert "No such file or directory: 'infer'" in result.stdout + result.stderr  # read as a config file


@pytest.mark.parametrize("args", list(RUNS), ids=[" ".join(args) for args in RUNS])
def test_a_documented_command_plans_without_error(dry_runs, args):
    result = dry_runs[args]
    output = result.stdout + result.stderr
    written = "; ".join(f"{c} ({', '.join(COMMANDS[c])})" for c in RUNS[args])
    assert result.returncode == 0, f"{written} fails:\n{output[-3000:]}"
    if "--lint" in args:
        assert "Congratulations, your workflow is in a good condition!" in output
    elif "--unlock" in args:
        assert "Unlocked working directory." in output
    else:
        assert "Job stats:" in output or "Nothing to be done" in output, output[-3000:]
