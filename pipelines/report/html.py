"""The run report: one self-contained HTML page per analysis run.

The page is for people reading the results of one ``results.analysis_runs`` row: what was
run on which data (provenance), whether the data passed the quality gate, the cohort
("Table 1"), the paper-style Q1 vs Q2-Q4 summary (beside the published figures when the
study spec names a ``reference``), the result tables, the figures and the warnings a
reader must see before trusting a number. Like the quality-gate page it is built on the
shared shell (:mod:`pipelines.report.page`): inline CSS, no script and nothing fetched
from anywhere — figures are embedded as ``data:`` URIs — so it opens offline from
``file://``.

This module only puts the page together: the rows come from
:mod:`pipelines.report.queries` and :mod:`pipelines.report.summary_queries` (aggregate
tables only; never ``results.group_assignments`` or any table with patient ids), the
HTML of each section from :mod:`pipelines.report.sections` and
:mod:`pipelines.report.result_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

import duckdb

from analysis.vocabulary import PH_ALPHA
from pipelines.atomic import write_text_atomically
from pipelines.errors import AnalysisRunNotFound
from pipelines.report import queries, result_tables, sections, summary_queries
from pipelines.report.files import FigureFile
from pipelines.report.page import RUN_REPORT_STYLE, html_page
from pipelines.report.settings import RunSettings

#: A group smaller than this is flagged in the warnings.
MIN_GROUP_SIZE = 10
#: Top genes of the scan listed per endpoint.
SCAN_TOP_GENES_LISTED = 10


def write_run_report(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    figures: list[FigureFile],
    out_dir: Path,
) -> Path:
    """Write ``out_dir/index.html`` for analysis run ``run_id`` atomically; return its path.

    ``figures`` are shown in the given order, their PNGs embedded in the page. The page is
    written to a temporary file in ``out_dir`` and renamed into place
    (:func:`pipelines.atomic.write_text_atomically`). Raises
    :class:`~pipelines.errors.AnalysisRunNotFound` (a ``LookupError``) if the run does not
    exist.
    """
    page = render_run_report(con, run_id, figures)
    return write_text_atomically(out_dir / "index.html", page)


def render_run_report(
    con: duckdb.DuckDBPyConnection, run_id: str, figures: Sequence[FigureFile]
) -> str:
    """The whole page as text (reads the warehouse and the figure PNGs; writes nothing)."""
    run = queries.analysis_run(con, run_id)
    if run is None:
        raise AnalysisRunNotFound(f"no analysis run {run_id!r} in results.analysis_runs")
    row, settings = run.row, run.settings
    simulated = bool(row["is_simulated"])
    quality_run_id = row["quality_run_id"]
    gate = None if quality_run_id is None else queries.quality_gate(con, quality_run_id)
    found = queries.run_warnings(con, run_id, min_group_size=MIN_GROUP_SIZE, ph_alpha=PH_ALPHA)
    title = f"Analysis run {run_id} — {row['study']}"
    page_sections = [
        f"<h1>{escape(title)}</h1>",
        sections.simulated_banner(simulated),
        sections.provenance(row),
        sections.quality(gate, quality_run_id),
        sections.warnings(found, min_group_size=MIN_GROUP_SIZE, ph_alpha=PH_ALPHA),
        sections.baseline(queries.baseline_rows(con)),
        result_tables.summary(
            summary_queries.summary_rows(
                con, run_id, landmark_years=settings.summary_landmark_years
            ),
            summary_queries.primary_family_tests(con, run_id),
            settings,
            simulated=simulated,
        ),
        _results(con, run_id, settings),
        _scan(con, run_id, settings),
        sections.figures(figures),
        sections.footer(row),
    ]
    return html_page(title, page_sections, style=RUN_REPORT_STYLE)


def _results(con: duckdb.DuckDBPyConnection, run_id: str, settings: RunSettings) -> str:
    parts = ["<h2>Results by biomarker</h2>"]
    for biomarker in queries.run_biomarkers(con, run_id):
        parts.append(
            result_tables.biomarker_tables(
                biomarker,
                queries.group_rows(
                    con, run_id, biomarker, landmark_years=settings.summary_landmark_years
                ),
                queries.logrank_test_rows(con, run_id, biomarker),
                queries.cox_rows(con, run_id, biomarker),
                settings,
                ph_alpha=PH_ALPHA,
            )
        )
    return "\n".join(parts)


def _scan(con: duckdb.DuckDBPyConnection, run_id: str, settings: RunSettings) -> str:
    totals = summary_queries.scan_totals(con, run_id, fdr=settings.scan.fdr)
    if not totals:  # no scan, or a warehouse from before the scan existed
        return ""
    top = summary_queries.scan_top_genes(con, run_id, per_endpoint=SCAN_TOP_GENES_LISTED)
    return result_tables.scan(totals, top, fdr=settings.scan.fdr)
