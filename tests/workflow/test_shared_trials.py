"""A training that several workflows ask for is one content-addressed trial and one job: the UQ
seed ensemble's first member, the training-data analysis's noise level 0 and the CV-free plain
member are the same (role MEMBER, same params and data)."""

from __future__ import annotations

import pytest
from conftest import planned_jobs, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow

SHARED = {
    "uq": {"ensemble": "seed", "members": 2, "mc_dropout": {"passes": 0}},
    "tda": {"analyses": ["noise"], "noise": {"label": [0.0, 0.2], "feature": [], "seeds": 1}},
}


def test_uq_and_tda_share_the_member_they_both_need(tmp_path):
    config = write_config(tmp_path / "config.yaml", tiny_config(**SHARED))
    uq = planned_jobs(snakemake(tmp_path, config, "-n", "uq"))
    tda = planned_jobs(snakemake(tmp_path, config, "-n", "tda"))
    both = planned_jobs(snakemake(tmp_path, config, "-n", "uq", "tda"))
    # uq: members seed s and s+1; tda: label noise 0 (= the seed-s member) and 0.2
    assert uq["train_trial"] == 2 and tda["train_trial"] == 2
    assert both["train_trial"] == 3
