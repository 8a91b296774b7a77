"""Suite files: the shipped ones load and compile; malformed ones get a precise error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.validate.runner import compile_expectation
from pipelines.validate.suites import DEFAULT_SUITES_DIR, SuiteError, load_suites


def test_shipped_suites_load_compile_and_cover_the_kahn_dimensions():
    checks = load_suites(DEFAULT_SUITES_DIR)
    assert {check.dimension for check in checks} == {"conformance", "completeness", "plausibility"}
    for check in checks:
        expectation = compile_expectation(check, check.severity)
        assert expectation.meta["id"] == check.expectation_id
    assert any(
        check.expectation_type == "ExpectNoColumnToLookLikeADirectIdentifier" for check in checks
    )


def test_tolerated_percent_becomes_mostly():
    check = next(c for c in load_suites() if c.expectation_id == "PLAU-08")
    assert check.tolerated_percent == 5
    assert compile_expectation(check, "critical").mostly == pytest.approx(0.95)


def test_critical_when_used_raises_the_severity():
    check = next(c for c in load_suites() if c.expectation_id == "COMP-05")
    assert check.severity_for(()) == "warning"
    assert check.severity_for(("iss_stage",)) == "critical"


def write_suite(folder: Path, expectation: dict, **suite: object) -> Path:
    document = {"suite": "s", "dimension": "conformance", "expectations": [expectation], **suite}
    (folder / "s.json").write_text(json.dumps(document))
    return folder


GOOD = {
    "id": "X-1",
    "title": "t",
    "table": "marts.cohort_patients",
    "type": "ExpectColumnValuesToNotBeNull",
    "kwargs": {"column": "patient_id"},
    "severity": "critical",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "fatal"}, "severity 'fatal' is not one of"),
        ({"tolerated_percent": 150}, "tolerated_percent must be a number from 0 to 100"),
        ({"table": "cohort_patients"}, "must be schema.table"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"title": ""}, "'title' is required"),
        (
            {"type": "unexpected_rows", "kwargs": {}, "where": "true", "tolerated_percent": 1},
            "unexpected_rows tolerates no rows",
        ),
        ({"where": "true"}, "belong to unexpected_rows only"),
    ],
)
def test_malformed_expectations_are_named(tmp_path: Path, change: dict, message: str):
    with pytest.raises(SuiteError) as raised:
        load_suites(write_suite(tmp_path, {**GOOD, **change}))
    assert "s.json: expectation X-1" in str(raised.value)
    assert message in str(raised.value)


def test_unknown_dimension_and_duplicate_ids(tmp_path: Path):
    with pytest.raises(SuiteError, match="dimension 'accuracy'"):
        load_suites(write_suite(tmp_path, GOOD, dimension="accuracy"))
    write_suite(tmp_path, GOOD)
    (tmp_path / "t.json").write_text(
        json.dumps({"suite": "t", "dimension": "plausibility", "expectations": [GOOD]})
    )
    with pytest.raises(SuiteError, match="X-1 appears in both s and t"):
        load_suites(tmp_path)


def test_bad_kwargs_and_types_fail_at_compile_time_naming_the_entry(tmp_path: Path):
    [check] = load_suites(write_suite(tmp_path, {**GOOD, "kwargs": {"colum": "x"}}))
    with pytest.raises(SuiteError, match="s: expectation X-1: invalid kwargs"):
        compile_expectation(check, "critical")
    [check] = load_suites(write_suite(tmp_path, {**GOOD, "type": "ExpectMagic"}))
    with pytest.raises(SuiteError, match="unknown expectation type 'ExpectMagic'"):
        compile_expectation(check, "critical")
