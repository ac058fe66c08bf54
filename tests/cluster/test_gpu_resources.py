"""Which jobs get a GPU, on every profile: the rules that train or predict with Keras declare it
themselves (rules/train.smk, KERAS_GPUS), so a dry run with each profile shows one GPU for each of
their jobs (training, the bundle, the final retraining, MC dropout, the representation analysis,
inference) and none for any other job, and a laptop's run asks for none at all. One dry run per
profile of a tiny config that plans all six rules (about 2 s each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, tiny_config, write_config

KERAS_RULES = {"train_trial", "train_bundle", "train_final", "uq_mc_dropout", "tda_representation", "predict_samples"}
LSF_GPU = "-gpu num=1"
ALLOCATION_SITES = ("summit", "frontier", "perlmutter", "polaris")


def dry_run_resources(tmp_path: Path, profile: str, *args: str, env: dict | None = None) -> list[tuple[str, dict]]:
    """(rule, resources) of every job of a dry run of hpo, uq, tda and infer with bundles of
    trials, MC dropout and new samples to predict."""
    samples = tmp_path / "new_samples.tsv"
    samples.write_text("gene\tS1\n")
    config = tiny_config(
        hpo={"space": {"learning_rate": [0.001, 0.01]}, "trials_per_job": 2},
        uq={"members": 2, "mc_dropout": {"passes": 2, "seed": 0}},
        infer={"input": str(samples)},
    )
    command = f"hpo uq tda infer -n --cores 4 --directory {tmp_path} --snakefile {REPO / 'Snakefile'}".split()
    command += [
        "--profile",
        str(REPO / "profiles" / profile),
        "--configfile",
        str(write_config(tmp_path / "c.yaml", config)),
    ]
    snakemake = str(Path(sys.executable).parent / "snakemake")
    environment = dict(os.environ, **(env or {}))
    result = subprocess.run([snakemake, *command, *args], capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    jobs, rule = [], None
    for line in result.stdout.splitlines():
        if line.startswith(("rule ", "checkpoint ", "localrule ", "localcheckpoint ")):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("    resources: ") and rule:
            items = line.split(": ", 1)[1].split(", ")
            jobs.append((rule, dict(item.split("=", 1) for item in items)))
            rule = None
    assert KERAS_RULES <= {rule for rule, _ in jobs}, sorted({rule for rule, _ in jobs})
    return jobs


def gpus_by_rule(jobs) -> dict[str, set[tuple[str | None, str | None]]]:
    out = {}
    for rule, resources in jobs:
        out.setdefault(rule, set()).add((resources.get("gpus"), resources.get("gpu")))
    return out


# profile, extra arguments, environment: a GPU site (allocation mode is given --resources gpus=N by
# its submit-allocation.sh; profiles/local counts this machine's GPUs, here faked)
SITES = [
    ("local", [], {"CANDLE_GPU_COUNT": "2"}),
    ("summit", [], {"CANDLE_LSF_PROJECT": "MED123"}),
    ("frontier", [], {}),
    ("perlmutter", [], {}),
    ("polaris", [], {"CANDLE_PBS_PROJECT": "MED123"}),
    *[(f"{site}/allocation", ["--resources", "gpus=8"], {}) for site in ALLOCATION_SITES],
]


@pytest.mark.parametrize("profile, args, env", SITES, ids=[site[0] for site in SITES])
def test_each_keras_job_and_only_those_get_one_gpu(profile, args, env, tmp_path):
    jobs = dry_run_resources(tmp_path, profile, *args, env=env)
    for rule, gpus in gpus_by_rule(jobs).items():
        if rule in KERAS_RULES:
            assert gpus == {("1", "1")}, (rule, gpus)
        else:
            assert gpus <= {(None, None), ("0", None)}, (rule, gpus)
    # what each scheduler reads for the GPU: sbatch --gpus from gpu (with --cpus-per-gpu), bsub -gpu
    # from lsf_extra, qsub ngpus= and the allocation steps from gpus (asserted above)
    for rule, resources in jobs:
        if profile in ("frontier", "perlmutter"):
            assert resources["cpus_per_gpu"] == {"frontier": "7", "perlmutter": "16"}[profile]
        if profile == "summit":
            assert (LSF_GPU in resources["lsf_extra"]) == (rule in KERAS_RULES), (rule, resources["lsf_extra"])


def test_a_laptop_asks_for_no_gpu(tmp_path):
    jobs = dry_run_resources(tmp_path, "local", env={"CANDLE_GPU_COUNT": "0"})
    assert all(gpus <= {(None, None), ("0", None), ("0", "0")} for gpus in gpus_by_rule(jobs).values())


def test_summit_binds_a_gpu_for_exactly_the_keras_rules():
    """The LSF executor maps no resource to bsub -gpu, so the Summit profile names the Keras rules
    (the one place a profile lists rules for their GPU): the list must follow the rules."""
    profile = yaml.safe_load((REPO / "profiles" / "summit" / "config.yaml").read_text())
    named = {rule for rule, resources in profile["set-resources"].items() if LSF_GPU in resources.get("lsf_extra", "")}
    assert named == KERAS_RULES
    others = ["local", "frontier", "perlmutter", "polaris", *[f"{site}/allocation" for site in ALLOCATION_SITES]]
    for site in others:
        per_rule = yaml.safe_load((REPO / "profiles" / site / "config.yaml").read_text()).get("set-resources", {})
        assert not [rule for rule, resources in per_rule.items() if {"gpu", "gpus"} & set(resources)], site
