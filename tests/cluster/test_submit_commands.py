"""Submit mode on LSF and PBS, for real through `snakemake --profile profiles/summit` (the LSF
executor plugin) and `--profile profiles/polaris` (PBS through cluster-generic), with stand-in
scheduler commands first on PATH. LSF and PBS cannot run here, so the stand-ins record each
submission's argv and run the job themselves:

- `bsub` / `qsub` append their argv (one JSON list a line) to calls.jsonl, start the job in the
  background (bsub: the command string via bash, in its -cwd, output to its -o log; qsub: the job
  script) and print the scheduler's answer (`Job <N> is submitted to queue <q>.` / `N.polaris-pbs-01`);
  the job's exit code lands in jobs/<N>.exit when it ends;
- `bjobs -noheader -o 'jobid stat' -aJ '*<run uuid>*'` (the LSF plugin's status query) answers
  `<id> RUN|DONE|EXIT` for the jobs whose name matches; it waits (at most 30 s) for a running job
  to end before answering, so the plugin's back-off (10 s more for every poll without news) does
  not add up; `badmin showconf mbd`, `lsclusters` and lsb.params give the plugin its start-up facts;
- `qstat -x -f -F json <id>` (what profiles/polaris/pbs-status.py calls) answers job_state R or F
  with Exit_status.

The first training submission of each run is "killed" by the stand-in (exit 1, not run): the
executor must report it failed (bjobs EXIT; pbs-status.py `failed`) and the profile's `retries`
must resubmit it, and the workflow must still complete.

The tests assert the exact argv of the grouped data-preparation submission and of a train_trial
submission, with only what must vary normalised: the tmp paths, the interpreter, the repository,
the LSF plugin's run uuid and cluster-generic's job script name.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, tiny_config, write_config

pytestmark = pytest.mark.workflow

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

STAND_INS = {
    "bsub": r"""
args = sys.argv[1:]
record(sys.argv)
job = new_job(args[args.index("-J") + 1])
cwd, log = args[args.index("-cwd") + 1], args[args.index("-o") + 1]
start(job, ["bash", "-c", args[-1]], cwd, log)
print(f"Job <{job}> is submitted to queue <{args[args.index('-q') + 1]}>.")
""",
    "bjobs": r"""
import fnmatch
args = sys.argv[1:]
assert args[:3] == ["-noheader", "-o", "jobid stat"] and args[3] == "-aJ", args
pattern = args[4]
def status():
    jobs = {}
    for path in sorted(JOBS.glob("*.json"), key=lambda p: int(p.stem)):
        if fnmatch.fnmatchcase(json.loads(path.read_text())["name"], pattern):
            code = exit_code(path.stem)
            jobs[path.stem] = "RUN" if code is None else ("DONE" if code == 0 else "EXIT")
    return jobs
first = status()
deadline = time.time() + 30
while "RUN" in first.values() and status() == first and time.time() < deadline:
    time.sleep(0.2)
for job, stat in status().items():
    print(job, stat)
""",
    "badmin": r"""
assert sys.argv[1:] == ["showconf", "mbd"], sys.argv
print("MBD configuration at Thu Jan  1 00:00:00 2026")
print(f"LSB_SHAREDIR = {STATE / 'lsf' / 'work'}")
print(f"LSF_CONFDIR = {STATE / 'lsf' / 'conf'}")
print("LSF_UNIT_FOR_LIMITS = MB")
""",
    "lsclusters": r"""
print("CLUSTER_NAME   STATUS   MASTER_HOST   ADMIN   HOSTS  SERVERS")
print("fakelsf        ok       login1        lsfadmin   1       1")
""",
    "qsub": r"""
args = sys.argv[1:]
record(sys.argv)
name = args[args.index("-N") + 1]
job = new_job(name)
out = Path(args[args.index("-o") + 1])
log = out / f"{name}.o{job}" if out.is_dir() else STATE / f"{name}.o{job}"  # PBS: undelivered output
start(job, ["bash", args[-1]], os.getcwd(), log)
print(f"{job}.polaris-pbs-01")
""",
    "qstat": r"""
args = sys.argv[1:]
assert args[:4] == ["-x", "-f", "-F", "json"] and len(args) == 5, args
job_id = args[4]
code = exit_code(job_id.split(".")[0])
info = {"job_state": "R"} if code is None else {"job_state": "F", "Exit_status": code}
print(json.dumps({"timestamp": 1, "pbs_version": "2022.1.3", "Jobs": {job_id: info}}))
""",
}

COMMON = r'''#!{python}
import json, os, subprocess, sys, time
from pathlib import Path
STATE = Path({state!r})
JOBS = STATE / "jobs"

def record(argv):
    with open(STATE / "calls.jsonl", "a") as f:
        f.write(json.dumps([Path(argv[0]).name, *argv[1:]]) + "\n")

def new_job(name):
    JOBS.mkdir(exist_ok=True)
    job = str(len(list(JOBS.glob("*.json"))) + 101)
    (JOBS / f"{{job}}.json").write_text(json.dumps({{"name": name}}))
    return job

def exit_code(job):
    path = JOBS / f"{{job}}.exit"
    return int(path.read_text()) if path.exists() else None

def start(job, command, cwd, log):
    """Run the job in the background; its exit code goes to jobs/<job>.exit when it ends. The
    first training job named in FAKE_KILL_FIRST is killed instead (exit 1, never run)."""
    exit_file = JOBS / f"{{job}}.exit"
    kill = os.environ.get("FAKE_KILL_FIRST")
    name = json.loads((JOBS / f"{{job}}.json").read_text())["name"]
    if kill and kill in name and not (STATE / "killed").exists():
        (STATE / "killed").write_text(job)
        exit_file.write_text("1")
        return
    wrapper = 'bash -c "$@"; echo $? > "$0.tmp"; mv "$0.tmp" "$0"'
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        subprocess.Popen(["bash", "-c", wrapper, str(exit_file), " ".join(map(__import__("shlex").quote, command))],
                         cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
'''


def stand_ins(state: Path) -> Path:
    """Write the stand-in scheduler commands into state/bin; their records go to state."""
    bin_dir = state / "bin"
    bin_dir.mkdir(parents=True)
    params = state / "lsf" / "conf" / "lsbatch" / "fakelsf" / "configdir" / "lsb.params"
    params.parent.mkdir(parents=True)
    params.write_text("Begin Parameters\nDEFAULT_QUEUE = normal  # default\nEnd Parameters\n")
    for name, body in STAND_INS.items():
        path = bin_dir / name
        path.write_text(COMMON.format(python=sys.executable, state=str(state)) + body)
        path.chmod(0o755)
    return bin_dir


def calls(state: Path) -> list[list[str]]:
    return [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]


def run_profile(site: str, tmp_path: Path) -> tuple[Path, Path, subprocess.CompletedProcess, float]:
    state = tmp_path / "sched"
    bin_dir = stand_ins(state)
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = tiny_config()
    config["model"]["epochs"] = 2
    write_config(workdir / "config.yaml", config)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        CANDLE_LSF_PROJECT="MED123",
        CANDLE_PBS_PROJECT="MED123",
        TF_CPP_MIN_LOG_LEVEL="3",
        FAKE_KILL_FIRST={"summit": "rule_train_trial", "polaris": "smk.train_trial"}[site],
    )
    env.pop("SNAKEMAKE_PROFILE", None)
    started = time.monotonic()
    result = subprocess.run(
        # the poll interval is the only override: the profiles' 10-30 s are for real schedulers
        [
            SNAKEMAKE,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--profile",
            str(REPO / "profiles" / site),
            "--configfile",
            "config.yaml",
            "--seconds-between-status-checks",
            "1",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    print(f"{site} submit mode through the stand-ins: {elapsed:.0f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return state, workdir, result, elapsed


def assert_completed(workdir: Path) -> None:
    assert json.loads((workdir / "results" / "hpo" / "best.json").read_text())
    trials = sorted((workdir / "results" / "trials").iterdir())
    assert len(trials) == 2
    for trial in [*trials, workdir / "results" / "hpo" / "final"]:
        metrics = json.loads((trial / "metrics.json").read_text())
        assert metrics["status"] == "ok", trial


def normalise(argv: list[str], workdir: Path) -> list[str]:
    """Only what must vary: tmp paths, the interpreter's folder, the repository, Snakemake's
    random job-script folder and source cache, the LSF plugin's run uuid."""
    subs = [
        (re.escape(str(workdir)), "<run>"),
        (re.escape(str(Path(sys.executable).parent)), "<bin>"),
        (re.escape(str(REPO)), "<repo>"),
        (r"\.snakemake/tmp\.\w+", ".snakemake/tmp.<x>"),
        (r"'[^' ]*/snakemake-runtime-cache/tmp\w+'", "'<source-cache>'"),
        (r"___\([0-9a-f-]{36}\)", "___(<uuid>)"),
        (r"/[0-9a-f-]{36}\.log$", "/<uuid>.log"),
        (r"snakejob\.train_trial\.\d+\.sh$", "snakejob.train_trial.<n>.sh"),
    ]
    out = []
    for arg in argv:
        for pattern, new in subs:
            arg = re.sub(pattern, new, arg)
        out.append(canon(arg))
    return out


def canon(command: str) -> str:
    """Snakemake writes some option lists from sets, in no fixed order: sort them."""
    return re.sub(
        r"(--(?:allowed-rules|rerun-triggers|shared-fs-usage|target-jobs) )(.+?)(?= --)",
        lambda m: m[1] + " ".join(sorted(m[2].split())),
        command,
    )


def b64(*values: str) -> str:
    return " ".join("base64//" + base64.b64encode(v.encode()).decode() for v in values)


def exec_tail(site_resources: str) -> str:
    """The end of every job's Snakemake command line (the profile's resources, groups, ...)."""
    return (
        " --force --target-files-omit-workdir-adjustment --max-inventory-time 0 --retries 0 --nocolor --no-hooks"
        " --nolock --ignore-incomplete --rerun-triggers input software-env mtime code params --conda-frontend 'conda'"
        " --shared-fs-usage persistence input-output software-deployment sources software-deployment-cache"
        " storage-local-copies source-cache --latency-wait 60 --scheduler 'greedy'"
        f" --local-storage-prefix {b64('.snakemake/storage')} --scheduler-solver-path '<bin>'"
        " --runtime-source-cache-path '<source-cache>' --configfiles <run>/config.yaml"
        + site_resources
        + " --groups 'synthesize_cohort=data' 'ingest_data=data' 'assign_splits=data' 'prepare_dataset=data'"
        " --mode 'remote'"
    )


LSF_GPU = "'-nnodes 1 -alloc_flags NVME -gpu num=1'"
LSF_RESOURCES = (
    " --set-resources "
    + b64(
        f"train_trial:lsf_extra={LSF_GPU}",
        f"train_bundle:lsf_extra={LSF_GPU}",
        "train_bundle:runtime=720",
        f"train_final:lsf_extra={LSF_GPU}",
        f"uq_mc_dropout:lsf_extra={LSF_GPU}",
        f"tda_representation:lsf_extra={LSF_GPU}",
        f"predict_samples:lsf_extra={LSF_GPU}",
    )
    + " --default-resources "
    + b64(
        "tmpdir=system_tmpdir",
        "mem_mb=4000",
        "lsf_project=MED123",
        "lsf_queue=batch",
        "runtime=120",
        "lsf_extra='-nnodes 1'",
    )
)


def prepared_id(workdir: Path) -> str:
    (prep,) = [p.name for p in (workdir / "results" / "data" / "prepared").iterdir()]
    return prep


def test_lsf_submit_mode_through_bsub(tmp_path):
    state, workdir, result, _ = run_profile("summit", tmp_path)
    assert_completed(workdir)
    prep = prepared_id(workdir)
    argvs = [normalise(argv, workdir) for argv in calls(state)]
    jobs = [argv[2].split("___")[0] for argv in argvs]
    # the 4 data rules are one submission (profile `groups:`); 2 trials + the killed one again
    assert sorted(job.split(":")[0] for job in jobs) == sorted(
        [
            "Snakemake_group_data",
            "Snakemake_rule_data_summary",
            *["Snakemake_rule_train_trial"] * 3,
            "Snakemake_rule_aggregate_hpo",
            "Snakemake_rule_train_final",
            "Snakemake_rule_report_tables",
        ]
    )
    data = argvs[jobs.index(f"Snakemake_group_data:prepare_dataset__prep={prep}")]
    log = f"<run>/.snakemake/lsf_logs/group_data/prepare_dataset__prep={prep}/<uuid>.log"
    assert data == [
        "bsub",
        "-J",
        f"Snakemake_group_data:prepare_dataset__prep={prep}___(<uuid>)",
        "-o",
        log,
        "-e",
        log,
        "-env",
        "all",
        "-P",
        "MED123",
        "-q",
        "batch",
        "-W",
        "480",
        "-n",
        "1",
        "-R",
        "rusage[mem=4000.0]",
        "-R",
        "span[hosts=1]",
        "-nnodes",
        "1",
        "-cwd",
        "<run>",
        canon(
            "<bin>/python3 -m snakemake --snakefile '<repo>/Snakefile' --target-jobs 'synthesize_cohort:'"
            f" 'prepare_dataset:prep={prep}' 'ingest_data:' 'assign_splits:' --allowed-rules synthesize_cohort ingest_data"
            " prepare_dataset assign_splits --local-groupid '60414a60-0122-5884-8af4-ff9b5d8e8d4f' --cores 'all'"
            " --attempt 1 --wait-for-files '<run>/.snakemake/tmp.<x>'" + exec_tail(LSF_RESOURCES)
        ),
    ]
    # the first trial submission was killed: bjobs said EXIT, the plugin reported it failed and
    # `retries` resubmitted it (attempt 2) with the same request
    killed = (state / "killed").read_text()
    assert f"LSF-job '{killed}' failed, LSF status is: 'EXIT'" in result.stderr
    first = argvs[int(killed) - 101]
    trial = first[2].split("trial_id=")[1].split("___")[0]
    again = [a for a in argvs[int(killed) - 100 :] if a[2] == first[2]]
    assert len(again) == 1
    log = f"<run>/.snakemake/lsf_logs/rule_train_trial/trial_id={trial}/<uuid>.log"
    files = " ".join(
        f"'results/data/prepared/{prep}/{name}'"
        for name in ("matrix.npy", "samples.parquet", "features.parquet", "manifest.json")
    )
    for attempt, argv in ((1, first), (2, again[0])):
        assert argv == [
            "bsub",
            "-J",
            f"Snakemake_rule_train_trial:trial_id={trial}___(<uuid>)",
            "-o",
            log,
            "-e",
            log,
            "-env",
            "all",
            "-P",
            "MED123",
            "-q",
            "batch",
            "-W",
            "120",
            "-n",
            "1",
            "-R",
            "rusage[mem=2000.0]",
            "-R",
            "span[hosts=1]",
            "-nnodes",
            "1",
            "-alloc_flags",
            "NVME",
            "-gpu",
            "num=1",
            "-cwd",
            "<run>",
            canon(
                f"<bin>/python3 -m snakemake --snakefile '<repo>/Snakefile' --target-jobs 'train_trial:trial_id={trial}'"
                f" --allowed-rules train_trial --cores 'all' --attempt {attempt} --force-use-threads "
                f" --wait-for-files '<run>/.snakemake/tmp.<x>' {files}" + exec_tail(LSF_RESOURCES)
            ),
        ]


def test_pbs_submit_mode_through_qsub(tmp_path):
    state, workdir, result, _ = run_profile("polaris", tmp_path)
    assert_completed(workdir)
    argvs = [normalise(argv, workdir) for argv in calls(state)]
    names = [argv[argv.index("-N") + 1] for argv in argvs]
    assert sorted(names) == sorted(
        [
            "smk.GROUP",
            "smk.data_summary",
            *["smk.train_trial"] * 3,
            "smk.aggregate_hpo",
            "smk.train_final",
            "smk.report_tables",
        ]
    )

    def qsub(name: str, ngpus: int, script: str) -> list[str]:
        return [
            "qsub",
            "-A",
            "MED123",
            "-q",
            "prod",
            "-N",
            name,
            "-l",
            f"select=1:ncpus=1:ngpus={ngpus}:system=polaris",
            "-l",
            "walltime=01:00:00",
            "-l",
            "filesystems=home:eagle",
            "-j",
            "oe",
            "-o",
            "results/logs/pbs/",
            f"<run>/.snakemake/tmp.<x>/{script}",
        ]

    assert argvs[names.index("smk.GROUP")] == qsub(
        "smk.GROUP",
        0,
        "snakejob.data_assign_splits_ingest_data_prepare_dataset_synthesize_cohort."
        "60414a60-0122-5884-8af4-ff9b5d8e8d4f.sh",
    )
    trials = [argv for argv, name in zip(argvs, names) if name == "smk.train_trial"]
    assert trials == [qsub("smk.train_trial", 1, "snakejob.train_trial.<n>.sh")] * 3
    # the killed submission: qstat said F with Exit_status 1, pbs-status.py `failed`, and `retries`
    # submitted the same job script again
    killed = int((state / "killed").read_text())
    script = calls(state)[killed - 101][-1]
    assert [argv[-1] for argv in calls(state)].count(script) == 2
    assert f"external jobid '{killed}.polaris-pbs-01'" in result.stderr and "Error in rule train_trial" in result.stderr
    # the job output reached the -o folder (the profile creates it before qsub)
    assert len(list((workdir / "results" / "logs" / "pbs").glob("smk.*.o*"))) == len(argvs) - 1
