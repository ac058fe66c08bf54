"""The synthetic cohorts' optional studies (groups for training-data analysis): off by default
and then the cohort is unchanged; on, every patient is in one study with its batch effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from candle_lib.data.synthetic import synthetic_nt3_cohort, synthetic_tc1_cohort

GENERATORS = [synthetic_nt3_cohort, synthetic_tc1_cohort]
SMALL = {"n_genes": 60}


def small(generator, **kwargs):
    size = {"n_patients": 30} if generator is synthetic_nt3_cohort else {"samples_per_type": 15, "markers_per_type": 3}
    return generator(**SMALL, **size, seed=4, **kwargs)


@pytest.mark.parametrize("generator", GENERATORS)
def test_zero_studies_is_the_cohort_without_the_option(generator):
    plain, zero = small(generator), small(generator, n_studies=0, study_sd=3.0)
    pd.testing.assert_frame_equal(plain.counts, zero.counts)
    pd.testing.assert_frame_equal(plain.samples, zero.samples)
    assert "study" not in plain.samples.columns


@pytest.mark.parametrize("generator", GENERATORS)
def test_studies_group_patients_and_leave_other_draws_alone(generator):
    plain, studied = small(generator), small(generator, n_studies=3)
    assert sorted(studied.samples["study"].unique()) == ["STUDY1", "STUDY2", "STUDY3"]
    assert (studied.samples.groupby("patient_id")["study"].nunique() == 1).all()
    pd.testing.assert_frame_equal(plain.samples, studied.samples.drop(columns="study"))
    # with a zero batch effect the counts are the same draws as without studies
    flat = small(generator, n_studies=3, study_sd=0.0)
    pd.testing.assert_frame_equal(plain.counts, flat.counts)


def test_a_study_shifts_its_samples_log_expression():
    cohort = synthetic_nt3_cohort(n_patients=200, n_genes=50, n_studies=2, study_sd=2.0, seed=1)
    log_counts = np.log2(cohort.counts.T.to_numpy() + 1.0)
    study = cohort.samples["study"].to_numpy()
    gap = np.abs(log_counts[study == "STUDY1"].mean(axis=0) - log_counts[study == "STUDY2"].mean(axis=0))
    # two N(0, 2^2) offsets differ by |N(0, 8)|, median about 1.9; patient noise averages out
    assert np.median(gap) > 1.0


def test_more_studies_than_patients_is_an_error():
    with pytest.raises(ValueError, match="studies need at least as many patients"):
        synthetic_nt3_cohort(n_patients=3, n_genes=20, n_studies=4)
