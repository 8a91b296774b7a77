"""Proof of the GX-on-DuckDB fix on the pinned versions (GX 1.24, duckdb-engine 0.17).

The stock case is a strict xfail: it documents upstream defects 10738 / 11579 and turns
red (XPASS) the day GX fixes them, which says the override can go.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "small.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.p as select * from (values ('P1', 10), ('P2', -1), "
            "('P3', 5)) as v(patient_id, pfs_days)"
        )
    return path


def validate_two_expectations(db_path: Path, adder: str) -> None:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from pipelines.validate.gx_duckdb import close_datasource

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = getattr(context.data_sources, adder)(
        name="warehouse", connection_string=f"duckdb:///{db_path}"
    )
    try:
        batch = (
            datasource.add_table_asset(name="p", table_name="marts.p")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        rows = batch.validate(gxe.ExpectTableRowCountToEqual(value=3))
        assert rows.success and rows.result["observed_value"] == 3
        pfs = batch.validate(
            gxe.ExpectColumnValuesToBeBetween(column="pfs_days", min_value=0),
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": 20,
                "unexpected_index_column_names": ["patient_id"],
            },
        )
        assert not pfs.exception_info.get("raised_exception")
        assert pfs.result["unexpected_count"] == 1
        assert [row["patient_id"] for row in pfs.result["partial_unexpected_index_list"]] == ["P2"]
    finally:
        close_datasource(datasource)


def test_fixed_sql_route_validates_in_place_and_releases_the_file(small_db: Path):
    validate_two_expectations(small_db, "add_duckdb_sql")
    duckdb.connect(str(small_db)).close()  # the file lock is released


@pytest.mark.xfail(strict=True, reason="GX 10738/11579: the stock SQL route loses results")
def test_stock_sql_route_is_still_broken_upstream(small_db: Path):
    validate_two_expectations(small_db, "add_sql")
