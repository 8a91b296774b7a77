"""The paper-style summary of a run, read back from the result tables.

One block per biomarker x endpoint x subgroup for the Q1 vs Q2-Q4 contrast, e.g.::

    IKZF1    PFS  all  Q1 vs Q2-Q4  n=15/45  3-y 80% (50-93) vs 53% (38-67)
        log-rank p=0.017 (nominal; primary family of 8: Holm p=0.120, BH q=0.068)
        HR Q2-Q4 vs Q1: univariable 3.96 (1.20-13.1) p=0.024; adjusted for
        cytogenetic_risk 2.91 (0.82-10.3) p=0.098 [few_events_per_variable]
        interaction with cytogenetic_risk: p=0.412 (likelihood ratio)

Reading the tables (not the in-memory objects) means the printed numbers are the
stored numbers; the same rows and the same sentences feed the HTML report
(:mod:`pipelines.report.html`), so the terminal and the page say the same thing. Every
p-value says whether it is adjusted; every subgroup line carries its interaction test
or the reason there is none; a non-significant contrast says what it could have
detected. For the reference study, the published figures are shown beside the
simulated ones, clearly labelled.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
from rich.console import Console

from analysis.formatting import format_hr, format_p, format_ratio, format_survival

#: Published figures of the reference study (Krönke et al., Leukemia 2017;31:1363-1367,
#: DSMM): 3-year survival of IKZF1 Q1 vs Q2-Q4 and the log-rank p.
PUBLISHED_DSMM = {
    ("IKZF1", "pfs"): ("86%", "51%", "0.01"),
    ("IKZF1", "os"): ("100%", "74%", "0.03"),
}
LANDMARK_YEARS_SHOWN = 3.0
#: The contrast of the summary: the reference study's question.
CONTRAST_TERM = "Q2-Q4 vs Q1"
#: A p-value below this is called significant in the sentences (nominal, two-sided).
SIGNIFICANCE = 0.05

_SUMMARY_SQL = """
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
            max(ci_status) filter (where group_label = 'Q1') as c_q1,
            max(survival) filter (where group_label = 'Q2-Q4') as s_rest,
            max(ci_lower) filter (where group_label = 'Q2-Q4') as l_rest,
            max(ci_upper) filter (where group_label = 'Q2-Q4') as u_rest,
            max(ci_status) filter (where group_label = 'Q2-Q4') as c_rest
        from results.km_landmarks
        where run_id = $run and grouping = 'q1_vs_rest' and time_years = $years
        group by all
    ),
    tests as (
        select biomarker, endpoint, subgroup, p_value, family, p_holm, q_bh,
            (select count(*) from results.logrank_tests
             where run_id = $run and family = 'primary') as family_size
        from results.logrank_tests
        where run_id = $run and grouping = 'q1_vs_rest' and test = 'logrank'
    ),
    cox as (
        select biomarker, endpoint, subgroup,
            {cox_columns}
        from results.cox_models
        where run_id = $run and grouping = 'q1_vs_rest' and term = $term
            and model in ('univariable', 'adjusted')
        group by all
    ),
    interactions as (
        select biomarker, endpoint,
            split_part(subgroup, ' interaction', 1) as variable,
            max(lrt_p_value) as interaction_p,
            max(status) as interaction_status,
            max(note) as interaction_note
        from results.cox_models
        where run_id = $run and grouping = 'q1_vs_rest' and model = 'interaction'
        group by all
    ),
    power as (
        select biomarker, endpoint, subgroup, events as power_events, n_low, n_high,
            min_detectable_hr, power_at_target_hr, target_hr, power as design_power, alpha
        from results.power
        where run_id = $run and grouping = 'q1_vs_rest'
    ),
    row_interactions as (
        select groups.biomarker, groups.endpoint, groups.subgroup,
            list(
                {{'variable': interactions.variable, 'p': interactions.interaction_p,
                  'status': interactions.interaction_status,
                  'note': interactions.interaction_note}}
                order by interactions.variable
            ) as interactions
        from groups
        join interactions
            on interactions.biomarker = groups.biomarker
            and interactions.endpoint = groups.endpoint
            and (groups.subgroup = 'all'
                or split_part(groups.subgroup, '=', 1) = interactions.variable)
        group by all
    )
    select groups.*, landmarks.* exclude (biomarker, endpoint, subgroup),
        tests.* exclude (biomarker, endpoint, subgroup),
        cox.* exclude (biomarker, endpoint, subgroup),
        power.* exclude (biomarker, endpoint, subgroup),
        coalesce(row_interactions.interactions, []) as interactions
    from groups
    left join landmarks using (biomarker, endpoint, subgroup)
    left join tests using (biomarker, endpoint, subgroup)
    left join cox using (biomarker, endpoint, subgroup)
    left join power using (biomarker, endpoint, subgroup)
    left join row_interactions using (biomarker, endpoint, subgroup)
    order by biomarker, case endpoint when 'pfs' then 0 else 1 end, endpoint,
        case when subgroup = 'all' then 0 else 1 end, subgroup
"""


def _cox_columns() -> str:
    """One column per (model, method, value): ``univariable_mle_hr`` etc."""
    values = {
        "hr": "hazard_ratio",
        "lower": "ci_lower",
        "upper": "ci_upper",
        "p": "p_value",
        "status": "status",
        "note": "note",
    }
    return ",\n            ".join(
        f"max({column}) filter (where model = '{model}' and coalesce(method, 'mle') = "
        f"'{method}') as {model}_{method}_{name}"
        for model in ("univariable", "adjusted")
        for method in ("mle", "firth")
        for name, column in values.items()
    )


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """One dict per biomarker x endpoint x subgroup (Q1 vs Q2-Q4), from the tables."""
    sql = _SUMMARY_SQL.format(cox_columns=_cox_columns())
    cursor = con.execute(sql, {"run": run_id, "years": LANDMARK_YEARS_SHOWN, "term": CONTRAST_TERM})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_settings(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run's recorded settings (the spec with defaults resolved)."""
    rows = con.execute(
        "select settings from results.analysis_runs where run_id = ?", [run_id]
    ).fetchall()
    return json.loads(rows[0][0]) if rows and rows[0][0] else {}


# -- sentences shared by the terminal and the report -------------------------------------


def survival_text(row: dict[str, Any]) -> str:
    """``3-y 80% (50-93) vs 53% (38-67)``, an interval that cannot be given says why."""
    return (
        f"{LANDMARK_YEARS_SHOWN:.0f}-y "
        f"{format_survival(row['s_q1'], row['l_q1'], row['u_q1'], row['c_q1'])} vs "
        f"{format_survival(row['s_rest'], row['l_rest'], row['u_rest'], row['c_rest'])}"
    )


def logrank_text(row: dict[str, Any]) -> str:
    """The log-rank p and whether it is adjusted, and for what family."""
    p = format_p(row["p_value"])
    if row.get("family") != "primary":
        return f"log-rank {p} (nominal, not adjusted)"
    adjusted = [
        text
        for text in (
            f"Holm {format_p(row['p_holm'])}" if row.get("p_holm") is not None else "",
            f"BH {format_p(row['q_bh'], label='q')}" if row.get("q_bh") is not None else "",
        )
        if text
    ]
    size = row.get("family_size") or 0
    return f"log-rank {p} (nominal; primary family of {size}: {', '.join(adjusted)})"


def _model_text(row: dict[str, Any], model: str, label: str) -> str:
    hr, status = row[f"{model}_mle_hr"], row[f"{model}_mle_status"]
    if status is None:
        return ""
    if hr is not None:
        text = (
            f"{label} {format_hr(hr, row[f'{model}_mle_lower'], row[f'{model}_mle_upper'])} "
            f"{format_p(row[f'{model}_mle_p'])}"
        )
        if status != "ok":
            text += f" [{status}]"
    else:
        reason = str(row[f"{model}_mle_note"] or status).removeprefix("not estimable: ")
        text = f"{label} not estimable: {reason}"
    firth_hr = row[f"{model}_firth_hr"]
    if firth_hr is not None:
        interval = format_hr(firth_hr, row[f"{model}_firth_lower"], row[f"{model}_firth_upper"])
        text += (
            f"; Firth-penalised {interval} (profile-likelihood CI), "
            f"penalised LR {format_p(row[f'{model}_firth_p'])}"
        )
    return text


def hazard_ratio_text(row: dict[str, Any], adjust_for: list[str]) -> str:
    """Univariable and adjusted HR side by side, each with its status or reason."""
    parts = [_model_text(row, "univariable", "univariable")]
    if adjust_for:
        adjusted = _model_text(row, "adjusted", f"adjusted for {', '.join(adjust_for)}")
        parts.append(adjusted or f"adjusted for {', '.join(adjust_for)}: not fitted")
    return f"HR {CONTRAST_TERM}: " + "; ".join(part for part in parts if part)


def interaction_text(row: dict[str, Any], subgroups: list[str]) -> str:
    """The interaction test behind a subgroup contrast, or why there is none."""
    found = {item["variable"]: item for item in row.get("interactions") or []}
    if row["subgroup"] == "all":
        variables = [v for v in subgroups if v in found]
    else:
        variables = [str(row["subgroup"]).split("=", 1)[0]]
    texts = []
    for variable in variables:
        item = found.get(variable)
        if item is None:
            texts.append(f"interaction with {variable}: not computed")
        elif item["p"] is not None:
            texts.append(
                f"interaction with {variable}: {format_p(item['p'])} (likelihood ratio, nominal)"
            )
        else:
            texts.append(item["note"] or f"interaction with {variable} not estimable")
    return "; ".join(texts)


def power_text(row: dict[str, Any]) -> str:
    """What the contrast could have detected (Schoenfeld), for non-significant results."""
    if row.get("power_events") is None:
        return ""
    if row.get("min_detectable_hr") is None:
        return f"power: not computable ({row['power_events']} events)"
    power = row.get("power_at_target_hr")
    at_target = (
        f"; power at HR {format_ratio(row['target_hr'])}: {100 * power:.0f}%"
        if power is not None
        else ""
    )
    return (
        f"power: with {row['power_events']} events and {row['n_low']}:{row['n_high']} "
        f"allocation, HRs below {format_ratio(row['min_detectable_hr'])} were not detectable "
        f"with {100 * row['design_power']:.0f}% power (two-sided alpha "
        f"{row['alpha']:g}){at_target}"
    )


def is_significant(row: dict[str, Any]) -> bool:
    """Nominal log-rank p below 0.05 (the sentence that follows says if it survives)."""
    return row["p_value"] is not None and row["p_value"] < SIGNIFICANCE


def family_sentence(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """Which p-values are nominal, how many tests the primary family holds, and which
    results survive adjustment."""
    rows = con.execute(
        """
        select biomarker, endpoint, p_value, p_holm, q_bh
        from results.logrank_tests
        where run_id = ? and family = 'primary'
        order by biomarker, endpoint desc
        """,
        [run_id],
    ).fetchall()
    if not rows:
        return (
            "Multiplicity: no primary family was declared for this run; every p-value "
            "shown is nominal (unadjusted)."
        )
    grouping = (run_settings(con, run_id).get("multiplicity") or {}).get("family", {})
    holm = [f"{b} {str(e).upper()}" for b, e, _, ph, _ in rows if ph is not None and ph < 0.05]
    bh = [f"{b} {str(e).upper()}" for b, e, _, _, q in rows if q is not None and q < 0.05]
    nominal = sum(1 for row in rows if row[2] is not None and row[2] < 0.05)
    biomarkers = len({row[0] for row in rows})
    endpoints = len({row[1] for row in rows})
    return (
        f"Multiplicity: the primary family is the whole-cohort "
        f"{grouping.get('grouping', 'q1_vs_rest')} log-rank test of {biomarkers} "
        f"biomarker(s) x {endpoints} endpoint(s) ({len(rows)} tests; {nominal} with nominal "
        f"p < 0.05). After Holm "
        f"adjustment {len(holm)} remain below 0.05"
        f"{' (' + ', '.join(holm) + ')' if holm else ''}; with BH q < 0.05: {len(bh)}"
        f"{' (' + ', '.join(bh) + ')' if bh else ''}. Every other p-value (subgroups, "
        "other groupings, Cox, interaction, trend) is nominal and unadjusted."
    )


def print_summary(
    console: Console,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    overall_only: bool = False,
) -> None:
    """Print one block per row, with the published figures when they apply.

    ``overall_only`` keeps the whole-cohort rows (``cohort run``'s short summary).
    """
    [(study, is_simulated)] = con.execute(
        "select study, is_simulated from results.analysis_runs where run_id = ?", [run_id]
    ).fetchall()
    label = " — SIMULATED data, not patient data" if is_simulated else ""
    console.print(f"{study}: analysis run {run_id}{label}", soft_wrap=True, highlight=False)
    show_published = bool(is_simulated) and "dsmm" in str(study).lower()
    settings = run_settings(con, run_id)
    adjust_for = list(settings.get("adjust_for") or [])
    subgroups = list(settings.get("subgroups") or [])
    for row in summary_rows(con, run_id):
        if overall_only and row["subgroup"] != "all":
            continue
        line = (
            f"{row['biomarker']:<8} {str(row['endpoint']).upper():<4} {row['subgroup']:<28} "
            f"Q1 vs Q2-Q4  n={row['n_q1']}/{row['n_rest']}  {survival_text(row)}"
        )
        published = PUBLISHED_DSMM.get((str(row["biomarker"]), str(row["endpoint"])))
        if show_published and published and row["subgroup"] == "all":
            line += (
                f"   [published, Krönke 2017: {published[0]} vs {published[1]}, p={published[2]}]"
            )
        lines = [line, logrank_text(row), hazard_ratio_text(row, adjust_for)]
        lines.append(interaction_text(row, subgroups))
        if not is_significant(row):
            lines.append(power_text(row))
        console.print(line, soft_wrap=True, highlight=False, markup=False)
        for detail in lines[1:]:
            if detail:
                console.print(f"    {detail}", soft_wrap=True, highlight=False, markup=False)
    console.print(family_sentence(con, run_id), soft_wrap=True, highlight=False, markup=False)
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
