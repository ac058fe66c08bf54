"""CANDLE Supervisor UPF files: one JSON object per line, each with an id."""

from __future__ import annotations

import json

import pytest

from candle_lib.errors import CandleInputError
from candle_lib.search.upf import format_upf, parse_upf, read_upf, upf_rows, write_upf


def test_parse_keeps_ids_values_and_order_and_skips_blank_lines():
    text = '{"id": "hpo-1", "epochs": 3, "dense": [64, 16]}\n\n  \n{"epochs": 5, "id": 7}\n'
    assert parse_upf(text) == [{"id": "hpo-1", "epochs": 3, "dense": [64, 16]}, {"epochs": 5, "id": 7}]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"id": "a"}\n{"id": "b", epochs: 3}\n', "line 2: not valid JSON"),
        ('["id", "a"]\n', "line 1: a UPF line is one JSON object, got list"),
        ('{"id": "a"}\n\n{"epochs": 3}\n', r'line 3: a UPF line needs an "id"'),
        ('{"id": "a"}\n{"id": "a"}\n', "line 2: id 'a' repeats line 1"),
        ('{"id": true}\n', r'line 1: "id" must be a string or an integer'),
        ('{"id": null}\n', r'line 1: "id" must be a string or an integer'),
    ],
)
def test_parse_errors_name_the_source_and_line(text, message):
    with pytest.raises(CandleInputError, match=f"points.upf: {message}"):
        parse_upf(text, source="points.upf")


def test_read_names_a_missing_file(tmp_path):
    with pytest.raises(CandleInputError, match="missing.upf: cannot read UPF file"):
        read_upf(tmp_path / "missing.upf")


def test_write_puts_id_first_one_object_per_line(tmp_path):
    path = tmp_path / "out" / "plan.upf"
    write_upf(path, [{"learning_rate": 0.01, "id": "abc"}, {"id": "def", "mode": {"dropout": 0.5}}])
    assert path.read_text() == '{"id": "abc", "learning_rate": 0.01}\n{"id": "def", "mode": {"dropout": 0.5}}\n'
    assert [p.name for p in path.parent.iterdir()] == ["plan.upf"]  # no temporary file left


def test_round_trip_of_plan_points(tmp_path):
    points = {
        "0123456789ab": {"learning_rate": 1e-05, "dense": [32], "data.normalization": "tpm"},
        "ba9876543210": {"vae": True},
    }
    path = tmp_path / "plan.upf"
    write_upf(path, upf_rows(points))
    rows = read_upf(path)
    assert rows == [{"id": tid, **point} for tid, point in points.items()]
    assert all(json.loads(line)["id"] in points for line in path.read_text().splitlines())


def test_rows_need_an_id_and_finite_values():
    with pytest.raises(ValueError, match="UPF row 2 has no 'id'"):
        format_upf([{"id": 1}, {"epochs": 3}])
    with pytest.raises(ValueError):
        format_upf([{"id": 1, "l2": float("nan")}])
