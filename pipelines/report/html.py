"""The run report: one self-contained HTML page per analysis run.

The page is for people reading the results of one ``results.analysis_runs`` row: what was
run on which data (provenance), whether the data passed the quality gate, the cohort
("Table 1"), the paper-style Q1 vs Q2-Q4 summary (beside the published figures for the
simulated reference study), the result tables, the figures and the warnings a reader must
see before trusting a number. Like the quality-gate page (:mod:`pipelines.validate.report`,
whose style it shares), it has inline CSS, no script and nothing fetched from anywhere —
figures are embedded as ``data:`` URIs — so it opens offline from ``file://``.

It reads only aggregate tables; never ``results.group_assignments`` or any table with
patient ids. Every text from the warehouse is escaped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

import duckdb

from analysis.formatting import format_hr, format_p, format_survival
from pipelines.analyze.summary import (
    LANDMARK_YEARS_SHOWN,
    PUBLISHED_DSMM,
    family_sentence,
    hazard_ratio_text,
    interaction_text,
    is_significant,
    logrank_text,
    power_text,
    run_settings,
    scan_settings_of_run,
    summary_rows,
)
from pipelines.atomic import write_text_atomically
from pipelines.report.files import FigureFile
from pipelines.validate.report import PAGE_STYLE as _GATE_STYLE  # shared page style
from pipelines.validate.report import format_time, html_page, table_row

#: A group smaller than this is flagged in the warnings.
MIN_GROUP_SIZE = 10
#: Proportional-hazards test p below this is flagged.
PH_ALPHA = 0.05
#: Risk-group columns of "Table 1", in this order (others, if any, follow).
RISK_COLUMNS = ("all", "standard", "high", "unknown")
#: A warnings list longer than this is folded in a (closed) <details>.
OPEN_WARNINGS_MAX = 15

PAGE_STYLE = (
    _GATE_STYLE
    + """
h3 { font-size: 17px; margin: 22px 0 6px; }
table.results { font-size: 13px; }
table.results td, table.results th { padding: 3px 6px; }
td.sub, th.sub { color: var(--muted); }
tr.group-start td { border-top: 2px solid #888; }
.published { background: #eef3fb; }
th.published { background: #dbe6f6; }
figure { margin: 16px 0 24px; break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: #333; font-size: 14px; margin-top: 4px; }
pre.settings { background: #f6f6f6; border: 1px solid var(--line); padding: 8px;
  font-size: 12.5px; overflow-x: auto; white-space: pre-wrap; }
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.gate { padding: 10px 16px; border: 3px solid; border-radius: 6px; }
.gate.pass { border-color: var(--pass); background: var(--pass-bg); }
.gate.fail, .gate.unknown { border-color: var(--fail); background: var(--fail-bg); }
.gate .word { font-weight: 800; font-size: 18px; }
ul.warn-summary li { margin: 2px 0; }
.scroll { overflow-x: auto; }
table.status-last td:last-child, table.status-last th:last-child { text-align: left;
  white-space: normal; }
td.published { white-space: normal; }
.status { color: var(--warn); font-weight: 700; }
"""
)


# --------------------------------------------------------------------------- entry point


def write_run_report(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    figures: list[FigureFile],
    out_dir: Path,
) -> Path:
    """Write ``out_dir/index.html`` for analysis run ``run_id`` atomically; return its path.

    ``figures`` are shown in the given order, their PNGs embedded in the page. The page is
    written to a temporary file in ``out_dir`` and renamed into place
    (:func:`pipelines.atomic.write_text_atomically`). Raises ``LookupError`` if the run
    does not exist.
    """
    page = render_run_report(con, run_id, figures)
    return write_text_atomically(out_dir / "index.html", page)


def render_run_report(
    con: duckdb.DuckDBPyConnection, run_id: str, figures: Sequence[FigureFile]
) -> str:
    """The whole page as text (reads the warehouse and the figure PNGs; writes nothing)."""
    run = _one(con, "select * from results.analysis_runs where run_id = ?", [run_id])
    if run is None:
        raise LookupError(f"no analysis run {run_id!r} in results.analysis_runs")
    simulated = bool(run["is_simulated"])
    title = f"Analysis run {run_id} — {run['study']}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        _simulated_banner(simulated),
        _provenance(run),
        _quality(con, run.get("quality_run_id")),
        _warnings(con, run_id),
        _baseline(con),
        _summary(con, run_id, show_published=simulated and "dsmm" in str(run["study"]).lower()),
        _results(con, run_id),
        _scan(con, run_id),
        _figures(figures),
        _footer(run),
    ]
    return html_page(title, sections, style=PAGE_STYLE)


# --------------------------------------------------------------------------- sections


def _simulated_banner(simulated: bool) -> str:
    if not simulated:
        return ""
    return (
        '<p class="simulated" role="note">⚠ SIMULATED DATA — this analysis ran on a batch '
        "generated by <code>cohort simulate</code>; it contains no real patients and its "
        "results say nothing about any disease.</p>"
    )


def _provenance(run: dict[str, object]) -> str:
    settings = run.get("settings")
    try:
        settings_text = json.dumps(
            json.loads(settings) if isinstance(settings, str) else settings,
            indent=2,
            ensure_ascii=False,
            sort_keys=True,
        )
    except (TypeError, ValueError):
        settings_text = str(settings)
    rows = [
        ("Run", _text(run["run_id"])),
        ("Study", _text(run["study"])),
        ("Status", _text(run.get("status"))),
        ("Time", f"{_time(run.get('started_at'))} to {_time(run.get('finished_at'))}"),
        (
            "Spec",
            f'{_text(run.get("spec_path"))} <span class="mono">sha256 '
            f"{_text(run.get('spec_sha256'))}</span>",
        ),
        ("Input", f'<span class="mono">sha256 {_text(run.get("input_sha256"))}</span>'),
        ("Batch", _text(run.get("batch_id"))),
        ("Data", "simulated" if run.get("is_simulated") else "delivered (not simulated)"),
        ("dbt build", f'<span class="mono">{_text(run.get("dbt_invocation_id"))}</span>'),
        ("Quality run", f'<span class="mono">{_text(run.get("quality_run_id"))}</span>'),
        ("Code version", f"cohort-warehouse {_text(run.get('code_version'))}"),
    ]
    items = "\n".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (
        f'<h2>Provenance</h2>\n<dl class="run">\n{items}\n</dl>\n'
        "<details><summary>Settings of the study spec (JSON)</summary>"
        f'<pre class="settings">{escape(settings_text)}</pre></details>'
    )


def _quality(con: duckdb.DuckDBPyConnection, quality_run_id: object) -> str:
    gate = (
        None
        if quality_run_id is None
        else _one(con, "select * from quality.validation_runs where run_id = ?", [quality_run_id])
    )
    if gate is None:
        return (
            '<h2>Data quality</h2>\n<div class="gate unknown"><span class="word">'
            "? NO GATE RECORD</span> — no quality-gate run "
            f"{escape(str(quality_run_id))} is stored in quality.validation_runs.</div>"
        )
    verdict = str(gate["verdict"])
    word = {"pass": "✓ PASS", "fail": "✗ FAIL"}.get(verdict, verdict.upper())
    counts = [
        (key, label)
        for key, label in (
            ("n_expectations", "checks"),
            ("n_passed", "passed"),
            ("n_critical_failed", "critical failed"),
            ("n_warnings", "warnings"),
        )
        if gate.get(key) is not None
    ]
    count_text = ", ".join(f"{gate[key]} {label}" for key, label in counts)
    report_path = gate.get("report_path")
    report = (
        f"<br>Gate report: <b>{escape(Path(str(report_path)).name)}</b> "
        f'<span class="path">({escape(str(report_path))})</span>'
        if report_path
        else ""
    )
    css = verdict if verdict in ("pass", "fail") else "unknown"
    return (
        f'<h2>Data quality</h2>\n<div class="gate {css}"><span class="word">'
        f"Quality gate: {escape(word)}</span> — run "
        f'<span class="mono">{escape(str(gate["run_id"]))}</span> at '
        f"{_time(gate.get('started_at'))}"
        f"{'<br>' + escape(count_text) if count_text else ''}{report}</div>"
    )


def _baseline(con: duckdb.DuckDBPyConnection) -> str:
    rows = _all(
        con,
        "select display_order, characteristic, category, cytogenetic_risk, n_group, summary "
        "from marts.cohort_baseline order by display_order, characteristic, category",
    )
    if not rows:
        return "<h2>Cohort (Table 1)</h2>\n<p>marts.cohort_baseline is empty.</p>"
    present = {str(row["cytogenetic_risk"]) for row in rows}
    columns = [c for c in RISK_COLUMNS if c in present] + sorted(present - set(RISK_COLUMNS))
    n_group = {str(row["cytogenetic_risk"]): row["n_group"] for row in rows}
    cells: dict[tuple[object, object, object], dict[str, object]] = {}
    for row in rows:
        key = (row["display_order"], row["characteristic"], row["category"])
        cells.setdefault(key, {})[str(row["cytogenetic_risk"])] = row["summary"]
    header = table_row(
        [
            "Characteristic",
            "",
            *(f"{escape(c)}<br><span class='type'>n={_text(n_group[c])}</span>" for c in columns),
        ],
        cell="th",
        numeric_from=2,
    )
    body = []
    previous = None
    for (_, characteristic, category), values in cells.items():
        label = "" if characteristic == previous else _text(characteristic)
        previous = characteristic
        body.append(
            table_row(
                [label, _text(category, ""), *(_text(values.get(c), "") for c in columns)],
                numeric_from=2,
            )
        )
    return (
        "<h2>Cohort (Table 1)</h2>\n"
        '<p class="guide">Analysable patients by cytogenetic risk group, from '
        "<code>marts.cohort_baseline</code> (the current build of the marts): n (%) for "
        "categories, median (lower-upper quartile) for numbers.</p>\n"
        f'<table class="results">\n<thead>{header}</thead>\n<tbody>\n'
        f"{''.join(body)}\n</tbody>\n</table>"
    )


def _summary(con: duckdb.DuckDBPyConnection, run_id: str, *, show_published: bool) -> str:
    """The Q1 vs Q2-Q4 contrast per biomarker x endpoint x subgroup, with the same
    sentences as the terminal summary (:mod:`pipelines.analyze.summary`)."""
    rows = summary_rows(con, run_id)
    if not rows:
        return ""
    settings = run_settings(con, run_id)
    adjust_for = list(settings.get("adjust_for") or [])
    subgroups = list(settings.get("subgroups") or [])
    years = f"{LANDMARK_YEARS_SHOWN:.0f}-y"
    headers = [
        "Biomarker",
        "Endpoint",
        "Subgroup",
        "n Q1 / Q2-Q4",
        f"{years} Q1 (95% CI)",
        f"{years} Q2-Q4 (95% CI)",
        "Log-rank p (adjusted?)",
        "Hazard ratio Q2-Q4 vs Q1 (95% CI)",
        "Interaction; power",
    ]
    header = table_row(headers, cell="th", numeric_from=3)
    if show_published:
        header = header.replace(
            "</tr>",
            '<th class="published">published (Krönke 2017)<br><span class="type">'
            f"{years} Q1 vs Q2-Q4, p</span></th></tr>",
        )
    body = []
    for row in rows:
        context = [interaction_text(row, subgroups)]
        if not is_significant(row):
            context.append(power_text(row))
        cells = [
            _text(row["biomarker"]),
            _text(str(row["endpoint"]).upper()),
            _wrap(row["subgroup"]),
            f"{_text(row['n_q1'])} / {_text(row['n_rest'])}",
            escape(format_survival(row["s_q1"], row["l_q1"], row["u_q1"], row["c_q1"])),
            escape(format_survival(row["s_rest"], row["l_rest"], row["u_rest"], row["c_rest"])),
            escape(logrank_text(row).removeprefix("log-rank ")),
            escape(hazard_ratio_text(row, adjust_for).split(": ", 1)[1]),
            escape("; ".join(text for text in context if text) or "—"),
        ]
        line = table_row(cells, numeric_from=3)
        if show_published:
            published = PUBLISHED_DSMM.get((str(row["biomarker"]), str(row["endpoint"])))
            text = (
                f"{published[0]} vs {published[1]}, p={published[2]}"
                if published and row["subgroup"] == "all"
                else ""
            )
            line = line.replace("</tr>", f'<td class="number published">{escape(text)}</td></tr>')
        body.append(line)
    note = (
        '<p class="guide">The <b>published (Krönke 2017)</b> column gives the figures of '
        "the reference study (Krönke et al., Leukemia 2017; DSMM) for comparison. The other "
        "columns are this run's results on a <b>simulated</b> cohort: one random draw of a "
        "model calibrated to the published figures, not the study's data.</p>"
        if show_published
        else ""
    )
    return (
        "<h2>Summary: Q1 vs Q2-Q4</h2>\n"
        f"{note}\n"
        f'<p class="guide">{escape(family_sentence(con, run_id))} A subgroup result is '
        "evidence of a subgroup-specific effect only through its interaction test; a "
        "non-significant contrast is read with the power it had.</p>\n"
        f'<table class="results">\n<thead>{header}</thead>\n<tbody>\n'
        f"{''.join(body)}\n</tbody>\n</table>"
    )


def _results(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    biomarkers = [
        str(row["biomarker"])
        for row in _all(
            con,
            "select distinct biomarker from results.group_summary where run_id = ? "
            "union select distinct biomarker from results.cox_models where run_id = ? "
            "order by 1",
            [run_id, run_id],
        )
    ]
    parts = ["<h2>Results by biomarker</h2>"]
    for biomarker in biomarkers:
        parts.append(f"<h3>{escape(biomarker)}</h3>")
        parts.append(_groups_table(con, run_id, biomarker))
        parts.append(_tests_table(con, run_id, biomarker))
        parts.append(_cox_table(con, run_id, biomarker))
    return "\n".join(parts)


def _scan(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The genome-wide scan in numbers: genes, discoveries, and the top genes' rows."""
    try:
        totals = _all(
            con,
            """
            select endpoint, subgroup, count(*) as genes,
                count(*) filter (where logrank_p is not null) as tested,
                count(*) filter (where logrank_q <= $fdr) as discoveries
            from results.gene_scan where run_id = $run
            group by endpoint, subgroup
            order by case endpoint when 'pfs' then 0 else 1 end, subgroup
            """,
            {"run": run_id, "fdr": scan_settings_of_run(con, run_id)[0]},
        )
    except duckdb.CatalogException:  # a warehouse from before the scan existed
        return ""
    if not totals:
        return ""
    fdr = scan_settings_of_run(con, run_id)[0]
    header = table_row(
        ["Endpoint", "Subgroup", "Genes", "Tested", f"q ≤ {fdr:g}"], cell="th", numeric_from=2
    )
    body = [
        table_row(
            [
                _text(str(row["endpoint"]).upper()),
                _wrap(row["subgroup"]),
                _text(f"{row['genes']:,}"),
                _text(f"{row['tested']:,}"),
                _text(f"{row['discoveries']:,}"),
            ],
            numeric_from=2,
        )
        for row in totals
    ]
    top = _all(
        con,
        """
        select * from results.gene_scan where run_id = ? and subgroup = 'all'
        qualify row_number() over (partition by endpoint order by logrank_p, gene) <= 10
        order by case endpoint when 'pfs' then 0 else 1 end, logrank_p, gene
        """,
        [run_id],
    )
    top_header = table_row(
        ["Endpoint", "Gene", "n", "Events", "n Q1", "Log-rank p", "q", "Trend p", "HR (95% CI)",
         "Cox q", "Status"],
        cell="th",
        numeric_from=2,
    )  # fmt: skip
    top_body = [
        table_row(
            [
                _text(str(row["endpoint"]).upper()),
                _text(row["gene"]),
                _text(row["n"]),
                _text(row["events"]),
                _text(row["n_q1"]),
                escape(_p_or_dash(row["logrank_p"])),
                escape(_p_or_dash(row["logrank_q"])),
                escape(_p_or_dash(row["trend_p"])),
                escape(format_hr(row["hazard_ratio"], row["hr_ci_lower"], row["hr_ci_upper"])),
                escape(_p_or_dash(row["cox_q"])),
                _status(row["status"]),
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
            _table("Genes scanned and discoveries", header, body),
            _table("Top genes by log-rank p (whole cohort)", top_header, top_body),
        ]
    )


_ORDER = (
    "case endpoint when 'pfs' then 0 when 'os' then 1 else 2 end, endpoint, grouping, "
    "case when subgroup = 'all' then 0 else 1 end, subgroup"
)


def _groups_table(con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str) -> str:
    rows = _all(
        con,
        f"""
        select endpoint, grouping, subgroup, group_label, g.n, g.events,
            g.cutpoint_low, g.cutpoint_high, g.median_days, g.median_ci_lower,
            g.median_ci_upper, g.status, l.n_at_risk, l.survival, l.ci_lower, l.ci_upper,
            l.ci_status
        from (
            select * from results.group_summary
            where run_id = $run and biomarker = $biomarker
        ) g
        left join (
            select * from results.km_landmarks
            where run_id = $run and biomarker = $biomarker and time_years = $years
        ) l using (endpoint, grouping, subgroup, group_label)
        order by {_ORDER}, group_label
        """,
        {"run": run_id, "biomarker": biomarker, "years": LANDMARK_YEARS_SHOWN},
    )
    if not rows:
        return ""
    years = f"{LANDMARK_YEARS_SHOWN:.0f}-y"
    header = table_row(
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
        body.append(
            table_row(
                [
                    _text(str(row["endpoint"]).upper()),
                    _text(row["grouping"]),
                    _wrap(row["subgroup"]),
                    _text(row["group_label"]),
                    _text(row["n"]),
                    _text(row["events"]),
                    escape(_range(row["cutpoint_low"], row["cutpoint_high"])),
                    escape(_median(row)),
                    escape(
                        format_survival(
                            row["survival"], row["ci_lower"], row["ci_upper"], row["ci_status"]
                        )
                    ),
                    _text(row["n_at_risk"], "—"),
                    _status(row["status"]),
                ],
                numeric_from=4,
                css=css,
            )
        )
    return _table("Groups: size, median and landmark survival", header, body)


def _tests_table(con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str) -> str:
    rows = _all(
        con,
        f"""
        select endpoint, grouping, subgroup, test, statistic, df, p_value, status
        from results.logrank_tests
        where run_id = ? and biomarker = ?
        order by {_ORDER}, test
        """,
        [run_id, biomarker],
    )
    if not rows:
        return ""
    header = table_row(
        ["Endpoint", "Grouping", "Subgroup", "Test", "χ²", "df", "p", "Status"],
        cell="th",
        numeric_from=4,
    )
    body = [
        table_row(
            [
                _text(str(row["endpoint"]).upper()),
                _text(row["grouping"]),
                _wrap(row["subgroup"]),
                _text(row["test"]),
                _number(row["statistic"], 2),
                _text(row["df"], "—"),
                escape(_p_or_dash(row["p_value"])),
                _status(row["status"]),
            ],
            numeric_from=4,
        )
        for row in rows
    ]
    return _table("Log-rank and trend tests", header, body)


def _cox_table(con: duckdb.DuckDBPyConnection, run_id: str, biomarker: str) -> str:
    rows = _all(
        con,
        f"""
        select endpoint, grouping, subgroup, model, coalesce(method, 'mle') as method, term,
            hazard_ratio, ci_lower, ci_upper, p_value, n, events, events_per_variable,
            ph_test_p, lrt_p_value, status, note
        from results.cox_models
        where run_id = ? and biomarker = ?
        order by {_ORDER},
            case model when 'univariable' then 0 when 'adjusted' then 1 else 2 end, term,
            method desc
        """,
        [run_id, biomarker],
    )
    if not rows:
        return ""
    header = table_row(
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
        if ph is not None and ph < PH_ALPHA:
            ph_text = f"<b>{ph_text} ⚠</b>"
        body.append(
            table_row(
                [
                    _text(str(row["endpoint"]).upper()),
                    _text(row["grouping"]),
                    _wrap(row["subgroup"]),
                    _text(model),
                    _text(row["term"]),
                    escape(hr),
                    escape(_p_or_dash(row["p_value"])),
                    f"{_text(row['n'], '—')} / {_text(row['events'], '—')}",
                    _number(row["events_per_variable"], 1),
                    ph_text,
                    escape(_p_or_dash(row["lrt_p_value"])),
                    _status(row["status"]),
                    _wrap(row["note"] or ""),
                ],
                numeric_from=5,
            )
        )
    return _table("Cox models (hazard ratios vs the lowest group)", header, body)


def _warnings(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    small = _all(
        con,
        f"""
        select biomarker, endpoint, grouping, subgroup, group_label, n
        from results.group_summary
        where run_id = ? and n < {MIN_GROUP_SIZE}
        order by biomarker, {_ORDER}, group_label
        """,
        [run_id],
    )
    not_ok = _all(
        con,
        f"""
        select biomarker, endpoint, grouping, subgroup, model, status, count(*) as terms
        from results.cox_models
        where run_id = ? and coalesce(status, '') <> 'ok'
        group by biomarker, endpoint, grouping, subgroup, model, status
        order by biomarker, {_ORDER}, model, status
        """,
        [run_id],
    )
    tests_not_ok = _all(
        con,
        f"""
        select biomarker, endpoint, grouping, subgroup, test, status
        from results.logrank_tests
        where run_id = ? and coalesce(status, '') <> 'ok'
        order by biomarker, {_ORDER}, test
        """,
        [run_id],
    )
    ph = _all(
        con,
        f"""
        select biomarker, endpoint, grouping, subgroup, model, term, ph_test_p
        from results.cox_models
        where run_id = ? and ph_test_p < {PH_ALPHA}
        order by biomarker, {_ORDER}, model, term
        """,
        [run_id],
    )
    where = ("Biomarker", "Endpoint", "Grouping", "Subgroup")

    def cells(row: dict[str, object]) -> list[str]:
        return [
            _text(row["biomarker"]),
            _text(str(row["endpoint"]).upper()),
            _text(row["grouping"]),
            _wrap(row["subgroup"]),
        ]

    lists = [
        (
            f"Groups with fewer than {MIN_GROUP_SIZE} patients",
            [*where, "Group", "n"],
            [[*cells(r), _text(r["group_label"]), _text(r["n"])] for r in small],
        ),
        (
            "Cox models whose status is not ok",
            [*where, "Model", "Status", "Terms"],
            [
                [*cells(r), _text(r["model"]), _status(r["status"]), _text(r["terms"])]
                for r in not_ok
            ],
        ),
        (
            "Tests whose status is not ok",
            [*where, "Test", "Status"],
            [[*cells(r), _text(r["test"]), _status(r["status"])] for r in tests_not_ok],
        ),
        (
            f"Proportional-hazards violations (Schoenfeld test p < {PH_ALPHA})",
            [*where, "Model", "Term", "PH test p"],
            [
                [
                    *cells(r),
                    _text(r["model"]),
                    _text(r["term"]),
                    escape(format_p(r["ph_test_p"], label="")),
                ]
                for r in ph
            ],
        ),
    ]
    found = [(title, headers, rows) for title, headers, rows in lists if rows]
    if not found:
        return "<h2>Warnings</h2>\n<p>None: no small group, failed model or PH violation.</p>"
    summary = "".join(f"<li>{escape(title)}: <b>{len(rows)}</b></li>" for title, _, rows in found)
    details = []
    for title, headers, rows in found:
        header = table_row(headers, cell="th")
        body = "".join(table_row(row, css="warning") for row in rows)
        is_open = " open" if len(rows) <= OPEN_WARNINGS_MAX else ""
        details.append(
            f"<details{is_open}><summary>{escape(title)} ({len(rows)})</summary>"
            f'<table class="results">\n<thead>{header}</thead>\n<tbody>\n{body}\n'
            "</tbody>\n</table></details>"
        )
    return (
        "<h2>Warnings</h2>\n"
        '<p class="guide">Read these before any number below: estimates from small groups, '
        "from models that could not be fitted as specified, or with non-proportional hazards "
        "are unreliable or missing.</p>\n"
        f'<ul class="warn-summary">{summary}</ul>\n' + "\n".join(details)
    )


def _figures(figures: Sequence[FigureFile]) -> str:
    if not figures:
        return ""
    parts = ["<h2>Figures</h2>"]
    for number, figure in enumerate(figures, start=1):
        caption = f"Figure {number}. {figure.caption}"
        try:
            data = base64.b64encode(Path(figure.png_path).read_bytes()).decode("ascii")
        except OSError as error:
            parts.append(
                f"<figure><p><b>Figure file missing:</b> {escape(str(figure.png_path))} "
                f"({escape(error.strerror or str(error))})</p>"
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
            continue
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{escape(figure.caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    return "\n".join(parts)


def _footer(run: dict[str, object]) -> str:
    return (
        f"<footer>Generated by cohort-warehouse {_text(run.get('code_version'))} from "
        f"analysis run {_text(run['run_id'])}. Every number is stored in the warehouse "
        "(<code>results.*</code> where run_id is this run). The page shows aggregates only, "
        "no patient ids.</footer>"
    )


# --------------------------------------------------------------------------- helpers


def _one(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: object = None
) -> dict[str, object] | None:
    rows = _all(con, sql, parameters)
    return rows[0] if rows else None


def _all(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: object = None
) -> list[dict[str, object]]:
    cursor = con.execute(sql, parameters) if parameters is not None else con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _table(title: str, header: str, body: Iterable[str]) -> str:
    return (
        f'<p class="guide"><b>{escape(title)}</b></p>\n'
        f'<div class="scroll"><table class="results status-last">\n<thead>{header}</thead>\n'
        f"<tbody>\n{''.join(body)}\n</tbody>\n</table></div>"
    )


def _text(value: object, missing: str = "—") -> str:
    return escape(missing if value is None or value == "" else str(value))


def _time(value: object) -> str:
    if value is None:
        return "—"
    try:
        return escape(format_time(value))  # type: ignore[arg-type]
    except (AttributeError, TypeError, ValueError):
        return escape(str(value))


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _p_or_dash(value: float | None) -> str:
    return "—" if value is None else format_p(value, label="")


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "—"
    return f"{_number(low, 2)} to {_number(high, 2)}"


def _median(row: dict[str, object]) -> str:
    """Median survival in years; NULL is 'not reached' (the curve stays above 50 %)."""

    def years(days: object) -> str:
        return "NR" if days is None else f"{float(days) / 365.25:.1f}"  # type: ignore[arg-type]

    if row["median_days"] is None:
        return "not reached"
    return (
        f"{years(row['median_days'])} ({years(row['median_ci_lower'])}-"
        f"{years(row['median_ci_upper'])})"
    )


def _wrap(value: object) -> str:
    """Escaped text that may wrap after ``=`` and ``_`` (long subgroup and status names)."""
    return _text(value).replace("=", "=<wbr>").replace("_", "_<wbr>")


def _status(value: object) -> str:
    text = _wrap(value)
    return text if value == "ok" else f'<span class="status">{text}</span>'
