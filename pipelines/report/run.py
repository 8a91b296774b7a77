"""`cohort report`: the figures and the HTML page of one analysis run.

Everything is drawn from the warehouse's result tables (never recomputed), so the
report and the SQL answers cannot disagree. Output goes to
``<db dir>/reports/<db name>/<run id>/`` unless a folder is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import CohortError, ExitCode
from pipelines.report.files import FigureFile
from pipelines.warehouse import connect, existing_tables, latest_analysis_run_id

if TYPE_CHECKING:
    import duckdb


class ReportRefused(CohortError, RuntimeError):
    """No such (succeeded) analysis run in the warehouse."""

    exit_code = ExitCode.NOT_READY


@dataclass(frozen=True)
class RunReport:
    run_id: str
    index_html: Path
    figures: tuple[FigureFile, ...]


def default_report_dir(db_path: Path, run_id: str) -> Path:
    return db_path.resolve().parent / "reports" / db_path.stem / run_id


def write_report(
    db_path: Path,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    helper: Any = None,
) -> RunReport:
    """Render every figure of the run, then the self-contained HTML page.

    With a ``helper`` (another process with a ``submit(function, *args)`` returning an
    object with ``result()``, e.g. ``cohort run``'s worker) half of the
    figures are drawn there at the same time: saving 300-dpi PNGs and SVGs is most of
    the report's time, and it splits cleanly by panel.
    """
    from pipelines.report.figures import render_figures, report_order
    from pipelines.report.html import write_run_report
    from pipelines.report.scan_figures import render_scan_figures

    with connect(db_path, read_only=True) as con:
        found = latest_analysis_run_id(con, run_id=run_id)
        analysed = "results.analysis_runs" in existing_tables(con, "results")
        if found is None:
            raise ReportRefused(
                f"no succeeded analysis run {run_id}"
                if run_id and analysed
                else "no analysis run; run `cohort analyze` first"
            )
        chosen = found
        target = out_dir or default_report_dir(db_path, chosen)
        target.mkdir(parents=True, exist_ok=True)
        time_unit, days_per_year = _figure_time_settings(con, chosen)
        other = (
            helper.submit(
                render_part, db_path, chosen, target / "figures", time_unit, (1, 2), days_per_year
            )
            if helper
            else None
        )
        figures = render_figures(
            con,
            chosen,
            target / "figures",
            time_unit=time_unit,
            days_per_year=days_per_year,
            part=(0, 2 if other else 1),
        )
        if other is None:
            figures += render_scan_figures(con, chosen, target / "figures", time_unit=time_unit)
        else:  # the helper drew the other half of the panels and the scan's figures
            figures = report_order(con, chosen, figures + other.result())
        index = write_run_report(con, chosen, figures, target)
    return RunReport(chosen, index, tuple(figures))


def render_part(
    db_path: Path,
    run_id: str,
    out_dir: Path,
    time_unit: str,
    part: tuple[int, int],
    days_per_year: float,
) -> list[FigureFile]:
    """One part of the panels plus the scan's figures, on its own read-only connection
    (runs in the helper, while the caller draws the other part and the forest plot)."""
    from pipelines.report.figures import render_figures
    from pipelines.report.scan_figures import render_scan_figures

    with connect(db_path, read_only=True) as con:
        figures = render_figures(
            con, run_id, out_dir, time_unit=time_unit, days_per_year=days_per_year, part=part
        )
        return figures + render_scan_figures(con, run_id, out_dir, time_unit=time_unit)


def _figure_time_settings(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[str, float]:
    """The study spec's ``figure_time_unit`` and ``days_per_year``, as recorded with the
    run (defaults: years, 365.25)."""
    from pipelines.report.queries import run_settings

    settings = run_settings(con, run_id)
    return settings.figure_time_unit, settings.days_per_year
