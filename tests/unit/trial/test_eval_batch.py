"""Validation and prediction batches sized by the widest tensor of the forward pass, not only by
the input rows: NT3's first Conv1D makes 128 values per input position, so 174 rows of 6,000
features (4 MiB of inputs) made 530 MB tensors and 1 GiB more peak memory than batches of 20
(issue 18, bench/bench_vs_candle.py --profile-memory)."""

from __future__ import annotations

from candle_lib.models import build_model
from candle_lib.params.specs import resolve_params
from candle_lib.trial.run import EVAL_BATCH_BYTES, EVAL_BATCH_ROWS, TrialRun, evaluation_batch_size, widest_row
from candle_lib.trial.spec import HOLDOUT, trial_spec

CANDLE_NT3 = {"model": "nt3", "conv": [128, 20, 1, 128, 10, 1], "pool": [1, 10], "dense": [200, 20]}


def test_the_widest_tensor_of_nt3_is_its_first_conv_output():
    model = build_model(resolve_params(CANDLE_NT3), 600, 2)
    # conv1: (600 - 20) + 1 = 581 positions x 128 filters; conv2: 572 x 128; pool2: 57 x 128
    assert widest_row(model, 600) == 581 * 128 == 74_368
    # 4 MiB / (74,368 x 4 bytes) = 14 rows: the training batch, 20, is the floor
    assert evaluation_batch_size(20, widest_row(model, 600)) == 20


def test_a_dense_model_keeps_large_batches():
    model = build_model(resolve_params({"model": "dense", "dense": [256, 64]}), 100, 2)
    assert widest_row(model, 100) == 256  # the first dense layer is wider than the 100 inputs
    assert evaluation_batch_size(20, 256) == min(EVAL_BATCH_ROWS, EVAL_BATCH_BYTES // 1024) == 256
    assert widest_row(model, 5000) == 5000  # wide inputs stay the widest


def test_a_trial_sizes_its_evaluation_batch_from_the_built_model(tiny_prepared, tmp_path):
    params = resolve_params({"model": "nt3", "conv": [128, 10, 1], "pool": [1], "dense": [8], "epochs": 1})
    run = TrialRun(tiny_prepared, trial_spec(params, role=HOLDOUT, data=tiny_prepared.name), tmp_path, 1, print)
    assert run.feed.input_width() == 100
    run.scale()
    run.build()
    # conv1: 91 positions x 128 filters = 11,648 values = 46,592 bytes a row; 4 MiB / 46,592 = 90
    assert run.eval_batch == EVAL_BATCH_BYTES // (91 * 128 * 4) == 90
