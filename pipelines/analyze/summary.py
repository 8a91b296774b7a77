"""The paper-style summary of a run, read back from the result tables.

One line per biomarker x endpoint x subgroup for the Q1 vs Q2-Q4 contrast, e.g.
``IKZF1  PFS  Q1 vs Q2-Q4  n=15/45  3-y 86% (70-94) vs 51% (36-64)  log-rank p=0.010
HR 3.9 (1.4-11)``. Reading the tables (not the in-memory objects) means the printed
numbers are the stored numbers. For the reference study, the published figures are
shown beside the simulated ones, clearly labelled.
"""

from __future__ import annotations

import duckdb
from rich.console import Console

from analysis.formatting import format_p

#: Published figures of the reference study (Krönke et al., Leukemia 2017;31:1363-1367,
#: DSMM): 3-year survival of IKZF1 Q1 vs Q2-Q4 and the log-rank p.
PUBLISHED_DSMM = {
    ("IKZF1", "pfs"): ("86%", "51%", "0.01"),
    ("IKZF1", "os"): ("100%", "74%", "0.03"),
}
LANDMARK_YEARS_SHOWN = 3.0


def format_percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def format_ci(lower: float | None, upper: float | None) -> str:
    if lower is None or upper is None:
        return ""
    return f" ({100 * lower:.0f}-{100 * upper:.0f})"


def format_hr(hr: float | None, lower: float | None, upper: float | None) -> str:
    if hr is None:
        return "HR n/a"
    return f"HR {hr:.2g} ({lower:.2g}-{upper:.2g})"


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, object]]:
    """One dict per biomarker x endpoint x subgroup (Q1 vs Q2-Q4), from the tables."""
    sql = """
        with groups as (
            select biomarker, endpoint, subgroup,
                max(n) filter (where group_label = 'Q1') as n_q1,
                max(n) filter (where group_label = 'Q2-Q4') as n_rest
            from results.group_summary
            where run_id = $run and grouping = 'q1_vs_rest'
            group by all
        ),
        landmarks as (
            select biomarker, endpoint, subgroup,
                max(survival) filter (where group_label = 'Q1') as s_q1,
                max(ci_lower) filter (where group_label = 'Q1') as l_q1,
                max(ci_upper) filter (where group_label = 'Q1') as u_q1,
                max(survival) filter (where group_label = 'Q2-Q4') as s_rest,
                max(ci_lower) filter (where group_label = 'Q2-Q4') as l_rest,
                max(ci_upper) filter (where group_label = 'Q2-Q4') as u_rest
            from results.km_landmarks
            where run_id = $run and grouping = 'q1_vs_rest' and time_years = $years
            group by all
        ),
        tests as (
            select biomarker, endpoint, subgroup, p_value
            from results.logrank_tests
            where run_id = $run and grouping = 'q1_vs_rest' and test = 'logrank'
        ),
        cox as (
            select biomarker, endpoint, subgroup, hazard_ratio, ci_lower, ci_upper
            from results.cox_models
            where run_id = $run and grouping = 'q1_vs_rest' and model = 'univariable'
        )
        select *
        from groups
        left join landmarks using (biomarker, endpoint, subgroup)
        left join tests using (biomarker, endpoint, subgroup)
        left join cox using (biomarker, endpoint, subgroup)
        order by biomarker, endpoint desc, subgroup
    """
    cursor = con.execute(sql, {"run": run_id, "years": LANDMARK_YEARS_SHOWN})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def print_summary(
    console: Console,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    overall_only: bool = False,
) -> None:
    """Print one paper-style line per row, with the published figures when they apply.

    ``overall_only`` keeps the whole-cohort rows (``cohort run``'s short summary).
    """
    [(study, is_simulated)] = con.execute(
        "select study, is_simulated from results.analysis_runs where run_id = ?", [run_id]
    ).fetchall()
    label = " — SIMULATED data, not patient data" if is_simulated else ""
    console.print(f"{study}: analysis run {run_id}{label}", soft_wrap=True, highlight=False)
    show_published = bool(is_simulated) and "dsmm" in str(study).lower()
    for row in summary_rows(con, run_id):
        if overall_only and row["subgroup"] != "all":
            continue
        line = (
            f"{row['biomarker']:<8} {str(row['endpoint']).upper():<4} {row['subgroup']:<28} "
            f"Q1 vs Q2-Q4  n={row['n_q1']}/{row['n_rest']}  "
            f"{LANDMARK_YEARS_SHOWN:.0f}-y {format_percent(row['s_q1'])}"
            f"{format_ci(row['l_q1'], row['u_q1'])}"
            f" vs {format_percent(row['s_rest'])}{format_ci(row['l_rest'], row['u_rest'])}  "
            f"log-rank {format_p(row['p_value'])}  "
            f"{format_hr(row['hazard_ratio'], row['ci_lower'], row['ci_upper'])}"
        )
        published = PUBLISHED_DSMM.get((str(row["biomarker"]), str(row["endpoint"])))
        if show_published and published and row["subgroup"] == "all":
            line += (
                f"   [published, Krönke 2017: {published[0]} vs {published[1]}, p={published[2]}]"
            )
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    if show_published:
        console.print(
            "Simulated demo cohort: one random draw of a model calibrated to the published "
            "figures; it is not the study's data and is not tuned to match them.",
            soft_wrap=True,
            highlight=False,
        )


def print_scan_summary(console: Console, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """One line per endpoint of the run's genome-wide scan (nothing if it had none)."""
    try:
        rows = con.execute(
            """
            with ranked as (
                select *, row_number() over (partition by endpoint order by logrank_p, gene)
                    as rank
                from results.gene_scan
                where run_id = $run and subgroup = 'all'
            )
            select endpoint,
                count(*) as genes,
                count(*) filter (where logrank_p is not null) as tested,
                count(*) filter (where logrank_q <= $fdr) as discoveries,
                list(gene order by rank) filter (where rank <= 3) as top,
                list(logrank_p order by rank) filter (where rank <= 3) as top_p,
                list(logrank_q order by rank) filter (where rank <= 3) as top_q
            from ranked
            group by endpoint
            order by case endpoint when 'pfs' then 0 else 1 end
            """,
            {"run": run_id, "fdr": scan_settings_of_run(con, run_id)[0]},
        ).fetchall()
    except duckdb.CatalogException:
        return
    fdr = scan_settings_of_run(con, run_id)[0]
    for endpoint, genes, tested, discoveries, top, top_p, top_q in rows:
        best = ", ".join(
            f"{gene} {format_p(p)} {format_p(q, label='q')}"
            for gene, p, q in zip(top or [], top_p or [], top_q or [], strict=True)
        )
        console.print(
            f"Genome scan {str(endpoint).upper():<4} {genes:,} genes ({tested:,} tested): "
            f"{discoveries} with q ≤ {fdr:g} (Q1 vs Q2-Q4 log-rank, BH); smallest p: {best}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )


def scan_settings_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[float, int]:
    """The FDR threshold and top-gene count the run's scan used (spec defaults if unset)."""
    import json

    rows = con.execute(
        "select settings from results.analysis_runs where run_id = ?", [run_id]
    ).fetchall()
    settings = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    scan = settings.get("scan") or {}
    return float(scan.get("fdr", 0.05)), int(scan.get("top_genes", 6))
