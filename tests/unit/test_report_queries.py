"""The report's data layer: typed rows checked against their queries, and the settings a
run recorded (older runs lack keys; the published figures come only from ``reference``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TypedDict

import duckdb
import pytest

from pipelines.report.queries import typed_rows
from pipelines.report.settings import DEFAULT_SUMMARY_LANDMARK_YEARS, RunSettings
from pipelines.spec import load_spec
from tests.conftest import REPO_ROOT


class _Pair(TypedDict):
    name: str
    value: int


def test_rows_are_dicts_of_their_type() -> None:
    con = duckdb.connect(":memory:")
    rows = typed_rows(
        con, _Pair, "select 'a' as name, 1 as value union all select 'b', 2 order by 1"
    )
    assert rows == [{"name": "a", "value": 1}, {"name": "b", "value": 2}]


@pytest.mark.parametrize(
    "sql", ["select 'a' as name", "select 'a' as name, 1 as value, 2 as extra"]
)
def test_a_query_whose_columns_differ_from_its_row_type_fails_loudly(sql: str) -> None:
    with pytest.raises(RuntimeError, match="_Pair"):
        typed_rows(duckdb.connect(":memory:"), _Pair, sql)


def test_settings_of_an_older_run_take_the_spec_defaults() -> None:
    settings = RunSettings.from_json(json.dumps({"study": "old", "adjust_for": ["sex"]}))
    assert settings.adjust_for == ("sex",)
    assert settings.reference is None
    assert settings.days_per_year == 365.25
    assert settings.figure_time_unit == "years"
    assert (settings.scan.fdr, settings.scan.top_genes) == (0.05, 6)
    assert settings.family_grouping == "q1_vs_rest"
    assert settings.summary_landmark_years == DEFAULT_SUMMARY_LANDMARK_YEARS == 3.0
    assert RunSettings.from_json(None) == RunSettings()


def test_recorded_settings_round_trip_from_the_reference_study_spec() -> None:
    spec = load_spec(REPO_ROOT / "studies" / "dsmm_ikzf1.yml")
    settings = RunSettings.from_json(spec.to_settings_json())
    assert settings.reference == spec.reference
    assert settings.reference is not None
    assert settings.summary_landmark_years == spec.reference.landmark_years
    assert settings.days_per_year == spec.days_per_year
    assert settings.adjust_for == spec.adjust_for and settings.subgroups == spec.subgroups


#: Modules whose user-visible numbers must go through analysis.formatting.
_FORMATTED_MODULES = [
    *sorted((REPO_ROOT / "pipelines" / "report").glob("*.py")),
    REPO_ROOT / "pipelines" / "analyze" / "summary.py",
]
#: An f-string replacement field with a numeric format spec: {x:.2f}, {x:g}, {x:,}, {x:.0%}.
_NUMBER_FORMAT = re.compile(r"\{[^{}:]+:[<>^=]?[+\- ]?#?0?\d*(?:,|[,_]?(?:\.\d+)?[fgeE%])\}")


@pytest.mark.parametrize("path", _FORMATTED_MODULES, ids=lambda path: Path(path).name)
def test_numbers_are_formatted_by_the_one_formatting_module(path: Path) -> None:
    stray = _NUMBER_FORMAT.findall(path.read_text(encoding="utf-8"))
    assert not stray, f"{path.name}: format through analysis.formatting, not {stray}"
