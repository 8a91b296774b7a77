"""The validation tables: round trip, history, all-or-nothing, the documented queries.

Hand-built runs on a real DuckDB file in a temporary folder; no GX involved, since the
store only reads the :class:`ValidationRun` data model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.validate import store
from pipelines.validate.results import MAX_EXAMPLE_IDS, ExpectationOutcome, ValidationRun
from pipelines.validate.store import RunNotFound, latest_run, load_run, store_run
from tests.conftest import REPO_ROOT

STARTED = dt.datetime(2026, 1, 15, 2, 0, 0, 123456)


def outcome(expectation_id: str, **changes: object) -> ExpectationOutcome:
    base = ExpectationOutcome(
        suite="conformance",
        dimension="conformance",
        expectation_id=expectation_id,
        title="Expression values are finite numbers",
        expectation_type="unexpected_rows",
        table_name="quality.cast_failures",
        column_name=None,
        severity="critical",
        success=True,
        observed_value="0",
        element_count=60,
        unexpected_count=0,
        unexpected_percent=0.0,
        tolerated_percent=0.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def make_run(run_id: str = "run-1", *, started: dt.datetime = STARTED, **changes: object):
    outcomes = (
        outcome(
            "CONF-03",
            success=False,
            observed_value="2",
            unexpected_count=2,
            unexpected_percent=10 / 3,
            example_patient_ids=("SIM-0015", "SIM-0047"),
        ),
        outcome(
            "COMP-02",
            suite="completeness",
            dimension="completeness",
            title="Cytogenetic risk known — für alle",
            expectation_type="ExpectColumnValuesToNotBeNull",
            table_name="marts.cohort_patients",
            column_name="cytogenetic_risk",
            severity="warning",
            success=False,
            observed_value=None,
            unexpected_count=7,
            unexpected_percent=11.666666666666666,
            tolerated_percent=10.0,
            example_patient_ids=("SIM-0001", "SIM-0002"),
        ),
        outcome(
            "PLAU-01",
            suite="plausibility",
            dimension="plausibility",
            table_name="marts.cohort_expression",
            column_name="mean_ct",
            success=False,
            observed_value=None,
            element_count=None,
            unexpected_count=None,
            unexpected_percent=None,
            tolerated_percent=None,
            error="Catalog Error: Table with name cohort_expression does not exist!",
        ),
        outcome("CONF-01", expectation_type="ExpectTableColumnsToMatchSet"),
    )
    run = ValidationRun(
        run_id=run_id,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=4, microseconds=250000),
        db_path=Path("/studies/myeloma/cohort.duckdb"),
        batch_id=3,
        is_simulated=True,
        code_version="0.1.0",
        gx_version="1.24.1",
        critical_fields=("pfs_days", "os_days"),
        outcomes=outcomes,
        suites=("conformance", "completeness", "plausibility"),
    )
    return dataclasses.replace(run, **changes)  # type: ignore[arg-type]


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db_path.parent.mkdir(parents=True)
    connection = duckdb.connect(str(db_path))
    yield connection
    connection.close()


def table_state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of both tables (empty when they do not exist)."""
    existing = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'quality'"
        ).fetchall()
    }
    return {
        name: sorted(con.execute(f"select * from quality.{name}").fetchall(), key=repr)
        for name in ("validation_runs", "validation_results")
        if name in existing
    }


def test_a_stored_run_loads_back_equal(con: duckdb.DuckDBPyConnection) -> None:
    run = make_run()
    store_run(con, run, report_path=Path("/reports/run-1.html"))
    assert load_run(con, "run-1") == run


def test_a_run_without_batch_outcomes_or_suites_loads_back_equal(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run = make_run(batch_id=None, outcomes=(), suites=(), critical_fields=(), is_simulated=False)
    store_run(con, run, report_path=None)
    assert load_run(con, "run-1") == run


def test_runs_are_appended_and_latest_is_the_last_started(con: duckdb.DuckDBPyConnection) -> None:
    first = make_run("night-1")
    passing = tuple(dataclasses.replace(item, success=True, error=None) for item in first.outcomes)
    second = make_run("night-2", started=STARTED + dt.timedelta(days=1), outcomes=passing)
    store_run(con, first, report_path=Path("reports/night-1.html"))
    store_run(con, second, report_path=None)

    assert load_run(con, "night-1") == first
    assert load_run(con, "night-2") == second
    latest = latest_run(con)
    assert latest is not None
    assert (latest.run_id, latest.verdict, latest.report_path) == ("night-2", "pass", None)
    history = con.execute(
        "select run_id, verdict, n_expectations, n_passed, n_critical_failed, n_warnings, "
        "seconds, report_path from quality.validation_runs order by started_at"
    ).fetchall()
    assert history == [
        ("night-1", "fail", 4, 1, 2, 1, 4.25, "reports/night-1.html"),
        ("night-2", "pass", 4, 4, 0, 0, 4.25, None),
    ]


def test_latest_run_of_a_warehouse_never_validated_is_none_and_creates_nothing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert latest_run(con) is None
    assert table_state(con) == {}
    with pytest.raises(RunNotFound, match="run-1"):
        load_run(con, "run-1")


def test_reading_works_on_a_read_only_connection(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with duckdb.connect(str(db_path)) as writer:
        store_run(writer, make_run(), report_path=None)
    with duckdb.connect(str(db_path), read_only=True) as reader:
        latest = latest_run(reader)
        assert latest is not None
        assert load_run(reader, latest.run_id) == make_run()


def test_unknown_run_id_is_refused(con: duckdb.DuckDBPyConnection) -> None:
    store_run(con, make_run(), report_path=None)
    with pytest.raises(RunNotFound, match="no-such-run"):
        load_run(con, "no-such-run")


def test_failure_in_the_results_insert_leaves_both_tables_unchanged(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store_run(con, make_run("good"), report_path=None)
    before = table_state(con)
    bad_outcome = outcome("CONF-99", severity="fatal")  # not a severity: the check refuses it
    bad = make_run("bad", outcomes=(*make_run().outcomes, bad_outcome))

    with pytest.raises(duckdb.ConstraintException):
        store_run(con, bad, report_path=None)

    assert table_state(con) == before
    assert latest_run(con).run_id == "good"  # type: ignore[union-attr]
    store_run(con, make_run("after"), report_path=None)  # the connection is usable again


def test_failure_after_the_run_row_on_a_new_warehouse_creates_nothing(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_insert(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_insert_results", broken_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        store_run(con, make_run(), report_path=None)
    assert table_state(con) == {}


def test_storing_a_run_id_twice_is_refused(con: duckdb.DuckDBPyConnection) -> None:
    store_run(con, make_run(), report_path=None)
    before = table_state(con)
    with pytest.raises(duckdb.ConstraintException):
        store_run(con, make_run(gx_version="other"), report_path=None)
    assert table_state(con) == before


def test_example_ids_are_capped(con: duckdb.DuckDBPyConnection) -> None:
    many_ids = tuple(f"SIM-{number:04d}" for number in range(1, 31))
    run = make_run(outcomes=(outcome("CONF-03", success=False, example_patient_ids=many_ids),))
    store_run(con, run, report_path=None)
    loaded = load_run(con, "run-1").outcomes[0].example_patient_ids
    assert MAX_EXAMPLE_IDS == 20
    assert loaded == many_ids[:20]


def test_time_zone_aware_times_are_stored_as_utc(con: duckdb.DuckDBPyConnection) -> None:
    berlin_winter = dt.timezone(dt.timedelta(hours=1))
    started = dt.datetime(2026, 1, 15, 3, 0, tzinfo=berlin_winter)
    store_run(con, make_run(started=started), report_path=None)
    assert load_run(con, "run-1").started_at == dt.datetime(2026, 1, 15, 2, 0)


def test_tables_share_the_schema_with_dbt_quality_views(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema quality")
    con.execute("create view quality.cast_failures as select 1 as check_name")
    store_run(con, make_run(), report_path=None)
    assert load_run(con, "run-1") == make_run()


def test_documented_queries_answer_the_documented_questions(
    con: duckdb.DuckDBPyConnection,
) -> None:
    failed_last_night, history = documented_queries()
    store_run(con, make_run("night-1"), report_path=None)
    store_run(con, make_run("night-2", started=STARTED + dt.timedelta(days=1)), report_path=None)

    failures = con.execute(failed_last_night).fetchall()
    assert [(row[0], row[2], row[9]) for row in failures] == [
        ("critical", "CONF-03", ["SIM-0015", "SIM-0047"]),
        ("critical", "PLAU-01", []),
        ("warning", "COMP-02", ["SIM-0001", "SIM-0002"]),
    ]
    assert [row[1:3] for row in con.execute(history).fetchall()] == [
        ("night-1", "fail"),
        ("night-2", "fail"),
    ]


def documented_queries() -> list[str]:
    """The SQL statements of the "Validation results tables" section of docs/warehouse.md."""
    text = (REPO_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    section = text.split("## Validation results tables", 1)[1]
    block = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [statement.strip() for statement in block.group(1).split(";") if statement.strip()]
