"""The run report's result sections: the Q1 vs Q2-Q4 summary, the tables of each
biomarker (groups, tests, Cox models) and the genome-wide scan, built as HTML from rows
read by :mod:`pipelines.report.queries` and
:mod:`pipelines.report.summary_queries`.

Presentation only: no query runs here. The summary uses the terminal's sentences
(:mod:`pipelines.analyze.summary`) and every number is formatted by
:mod:`analysis.formatting`, so the page and the terminal say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

from analysis.formatting import (
    format_count,
    format_events_per_variable,
    format_expression,
    format_hr,
    format_landmark,
    format_level,
    format_median_years,
    format_p,
    format_statistic,
    format_survival,
)
from pipelines.analyze.summary import (
    continuous_text,
    cutpoint_text,
    family_sentence,
    hazard_ratio_text,
    interaction_text,
    is_significant,
    logrank_text,
    power_text,
    published_text,
    rmst_text,
)
from pipelines.report import page
from pipelines.report.queries import CoxRow, GroupRow, LogrankTestRow
from pipelines.report.settings import RunSettings
from pipelines.report.summary_queries import (
    FamilyTestRow,
    ScanGeneRow,
    ScanTotalRow,
    SummaryRow,
)


def summary(
    rows: Sequence[SummaryRow],
    family: Sequence[FamilyTestRow],
    settings: RunSettings,
    *,
    simulated: bool,
) -> str:
    """The Q1 vs Q2-Q4 contrast per biomarker x endpoint x subgroup, with the same
    sentences as the terminal summary, beside the spec's published figures if any."""
    if not rows:
        return ""
    reference = settings.reference
    years = format_landmark(settings.summary_landmark_years)
    headers = [
        "Biomarker",
        "Endpoint",
        "Subgroup",
        "n Q1 / Q2-Q4",
        f"{years} Q1 (95% CI)",
        f"{years} Q2-Q4 (95% CI)",
        "Log-rank p (adjusted?)",
        "Hazard ratio Q2-Q4 vs Q1 (95% CI)",
        "Interaction; continuous; RMST; cut points; power",
    ]
    header = page.table_row(headers, cell="th", numeric_from=3)
    if reference is not None:
        header = header.replace(
            "</tr>",
            f'<th class="published">published ({escape(reference.citation)})<br>'
            f'<span class="type">{years} Q1 vs Q2-Q4, p</span></th></tr>',
        )
    body = []
    for row in rows:
        context = [interaction_text(row, settings.subgroups)]
        context += [continuous_text(row), rmst_text(row, settings.days_per_year)]
        context.append(cutpoint_text(row))
        if not is_significant(row):
            context.append(power_text(row))
        cells = [
            page.text(row["biomarker"]),
            page.endpoint(row["endpoint"]),
            page.wrap(row["subgroup"]),
            f"{page.text(row['n_q1'])} / {page.text(row['n_rest'])}",
            escape(format_survival(row["s_q1"], row["l_q1"], row["u_q1"], row["c_q1"])),
            escape(format_survival(row["s_rest"], row["l_rest"], row["u_rest"], row["c_rest"])),
            escape(logrank_text(row).removeprefix("log-rank ")),
            escape(hazard_ratio_text(row, settings.adjust_for).split(": ", 1)[1]),
            escape("; ".join(text for text in context if text) or "—"),
        ]
        line = page.table_row(cells, numeric_from=3)
        if reference is not None:
            published = escape(published_text(reference, row))
            line = line.replace("</tr>", f'<td class="number published">{published}</td></tr>')
        body.append(line)
    return (
        "<h2>Summary: Q1 vs Q2-Q4</h2>\n"
        f"{_published_note(settings, simulated=simulated)}\n"
        f'<p class="guide">{escape(family_sentence(family, settings.family_grouping))} A '
        "subgroup result is evidence of a subgroup-specific effect only through its "
        "interaction test; a non-significant contrast is read with the power it had.</p>\n"
        f'<table class="results">\n<thead>{header}</thead>\n<tbody>\n'
        f"{''.join(body)}\n</tbody>\n</table>"
    )


def _published_note(settings: RunSettings, *, simulated: bool) -> str:
    """What the published column is, and (simulated data) what the other columns are."""
    if settings.reference is None:
        return ""
    citation = escape(settings.reference.citation)
    data = (
        "on a <b>simulated</b> cohort: one random draw of a model calibrated to the "
        "published figures, not the study's data"
        if simulated
        else "on the delivered cohort"
    )
    return (
        f'<p class="guide">The <b>published</b> column gives the figures of the reference '
        f"study ({citation}) for comparison. The other columns are this run's results "
        f"{data}.</p>"
    )


def biomarker_tables(
    biomarker: str,
    groups: Sequence[GroupRow],
    tests: Sequence[LogrankTestRow],
    models: Sequence[CoxRow],
    settings: RunSettings,
    *,
    ph_alpha: float,
) -> str:
    """One biomarker's heading and its group, test and Cox tables (a proportional-hazards
    test p below ``ph_alpha`` is marked)."""
    return "\n".join(
        [
            f"<h3>{escape(biomarker)}</h3>",
            _groups_table(groups, settings),
            _tests_table(tests),
            _cox_table(models, ph_alpha=ph_alpha),
        ]
    )


def _groups_table(rows: Sequence[GroupRow], settings: RunSettings) -> str:
    if not rows:
        return ""
    years = format_landmark(settings.summary_landmark_years)
    header = page.table_row(
        [
            "Endpoint",
            "Grouping",
            "Subgroup",
            "Group",
            "n",
            "Events",
            "Expression range",
            "Median, years (95% CI)",
            f"{years} survival (95% CI)",
            f"At risk at {years}",
            "Status",
        ],
        cell="th",
        numeric_from=4,
    )
    body = []
    previous = None
    for row in rows:
        block = (row["endpoint"], row["grouping"], row["subgroup"])
        css = "group-start" if previous is not None and block != previous else ""
        previous = block
        median = format_median_years(
            row["median_days"],
            row["median_ci_lower"],
            row["median_ci_upper"],
            days_per_year=settings.days_per_year,
        )
        survival = format_survival(
            row["survival"], row["ci_lower"], row["ci_upper"], row["ci_status"]
        )
        body.append(
            page.table_row(
                [
                    *_where(row),
                    page.text(row["group_label"]),
                    page.text(row["n"]),
                    page.text(row["events"]),
                    escape(_range(row["cutpoint_low"], row["cutpoint_high"])),
                    escape(median),
                    escape(survival),
                    page.text(row["n_at_risk"], "—"),
                    page.status(row["status"]),
                ],
                numeric_from=4,
                css=css,
            )
        )
    return page.results_table("Groups: size, median and landmark survival", header, body)


def _tests_table(rows: Sequence[LogrankTestRow]) -> str:
    if not rows:
        return ""
    header = page.table_row(
        ["Endpoint", "Grouping", "Subgroup", "Test", "χ²", "df", "p", "Status"],
        cell="th",
        numeric_from=4,
    )
    body = [
        page.table_row(
            [
                *_where(row),
                page.text(row["test"]),
                _or_dash(row["statistic"], format_statistic),
                page.text(row["df"], "—"),
                escape(_p_or_dash(row["p_value"])),
                page.status(row["status"]),
            ],
            numeric_from=4,
        )
        for row in rows
    ]
    return page.results_table("Log-rank and trend tests", header, body)


def _cox_table(rows: Sequence[CoxRow], *, ph_alpha: float) -> str:
    if not rows:
        return ""
    header = page.table_row(
        [
            "Endpoint",
            "Grouping",
            "Subgroup",
            "Model",
            "Term",
            "HR (95% CI)",
            "p (nominal)",
            "n / events",
            "EPV",
            "PH test p",
            "Interaction LRT p",
            "Status",
            "Note",
        ],
        cell="th",
        numeric_from=5,
    )
    body = []
    for row in rows:
        hr = (
            "—"
            if row["hazard_ratio"] is None
            else format_hr(row["hazard_ratio"], row["ci_lower"], row["ci_upper"])
        )
        model = str(row["model"])
        if row["method"] == "firth":
            model += " (Firth)"
        ph = row["ph_test_p"]
        ph_text = escape(_p_or_dash(ph))
        if ph is not None and ph < ph_alpha:
            ph_text = f"<b>{ph_text} ⚠</b>"
        body.append(
            page.table_row(
                [
                    *_where(row),
                    page.text(model),
                    page.text(row["term"]),
                    escape(hr),
                    escape(_p_or_dash(row["p_value"])),
                    f"{page.text(row['n'], '—')} / {page.text(row['events'], '—')}",
                    _or_dash(row["events_per_variable"], format_events_per_variable),
                    ph_text,
                    escape(_p_or_dash(row["lrt_p_value"])),
                    page.status(row["status"]),
                    page.wrap(row["note"] or ""),
                ],
                numeric_from=5,
            )
        )
    return page.results_table("Cox models (hazard ratios vs the lowest group)", header, body)


def scan(totals: Sequence[ScanTotalRow], top: Sequence[ScanGeneRow], *, fdr: float) -> str:
    """The genome-wide scan in numbers: genes, discoveries, and the top genes' rows."""
    if not totals:
        return ""
    header = page.table_row(
        ["Endpoint", "Subgroup", "Genes", "Tested", f"q ≤ {format_level(fdr)}"],
        cell="th",
        numeric_from=2,
    )
    body = [
        page.table_row(
            [
                page.endpoint(row["endpoint"]),
                page.wrap(row["subgroup"]),
                page.text(format_count(row["genes"])),
                page.text(format_count(row["tested"])),
                page.text(format_count(row["discoveries"])),
            ],
            numeric_from=2,
        )
        for row in totals
    ]
    top_header = page.table_row(
        ["Endpoint", "Gene", "n", "Events", "n Q1", "Log-rank p", "q", "Trend p", "HR (95% CI)",
         "Cox q", "Status"],
        cell="th",
        numeric_from=2,
    )  # fmt: skip
    top_body = [
        page.table_row(
            [
                page.endpoint(row["endpoint"]),
                page.text(row["gene"]),
                page.text(row["n"]),
                page.text(row["events"]),
                page.text(row["n_q1"]),
                escape(_p_or_dash(row["logrank_p"])),
                escape(_p_or_dash(row["logrank_q"])),
                escape(_p_or_dash(row["trend_p"])),
                escape(format_hr(row["hazard_ratio"], row["hr_ci_lower"], row["hr_ci_upper"])),
                escape(_p_or_dash(row["cox_q"])),
                page.status(row["status"]),
            ],
            numeric_from=2,
        )
        for row in top
    ]
    return "\n".join(
        [
            "<h2>Genome-wide quartile scan</h2>",
            '<p class="guide">Every gene with enough patients: Q1 vs Q2-Q4 and quartile '
            "log-rank tests, the trend test and the Cox hazard ratio of Q2-Q4 versus Q1, with "
            "Benjamini-Hochberg q-values across genes per endpoint, subgroup and test "
            "(<code>results.gene_scan</code>).</p>",
            page.results_table("Genes scanned and discoveries", header, body),
            page.results_table("Top genes by log-rank p (whole cohort)", top_header, top_body),
        ]
    )


def _where(row: Mapping[str, object]) -> list[str]:
    """The cells naming a result: endpoint, grouping, subgroup."""
    return [page.endpoint(row["endpoint"]), page.text(row["grouping"]), page.wrap(row["subgroup"])]


def _p_or_dash(value: float | None) -> str:
    return "—" if value is None else format_p(value, label="")


def _or_dash(value: float | None, formatter: Callable[[float], str]) -> str:
    return "—" if value is None else formatter(value)


def _range(low: float | None, high: float | None) -> str:
    """The expression range of a group's cut points (``—`` for a missing bound)."""
    if low is None and high is None:
        return "—"
    return f"{_or_dash(low, format_expression)} to {_or_dash(high, format_expression)}"
