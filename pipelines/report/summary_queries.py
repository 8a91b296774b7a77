"""The run's headline results, read as typed rows: the Q1 vs Q2-Q4 summary, the primary
family of tests and the genome-wide scan.

The terminal (:mod:`pipelines.analyze.summary`), the run report page
(:mod:`pipelines.report.html`) and ``cohort run``'s summary read these same rows, so
they cannot disagree; they only format them. Row types and the column check are as in
:mod:`pipelines.report.queries`.
"""

from __future__ import annotations

from typing import TypedDict

import duckdb

from pipelines.report.queries import run_settings, typed_rows

#: The contrast of the summary: the reference study's question.
CONTRAST_TERM = "Q2-Q4 vs Q1"


class InteractionItem(TypedDict):
    variable: str
    p: float | None
    status: str | None
    note: str | None


class SummaryRow(TypedDict):
    """One biomarker x endpoint x subgroup of the Q1 vs Q2-Q4 contrast.

    Landmark survival of Q1 (``*_q1``) and Q2-Q4 (``*_rest``) at the summary's landmark:
    ``s`` survival, ``l``/``u`` CI bounds, ``c`` the CI status. Cox estimates are one
    column per model (univariable, adjusted) x method (mle, firth) x value.
    """

    biomarker: str
    endpoint: str
    subgroup: str
    n_q1: int | None
    n_rest: int | None
    s_q1: float | None
    l_q1: float | None
    u_q1: float | None
    c_q1: str | None
    s_rest: float | None
    l_rest: float | None
    u_rest: float | None
    c_rest: str | None
    p_value: float | None
    family: str | None
    p_holm: float | None
    q_bh: float | None
    family_size: int | None
    univariable_mle_hr: float | None
    univariable_mle_lower: float | None
    univariable_mle_upper: float | None
    univariable_mle_p: float | None
    univariable_mle_status: str | None
    univariable_mle_note: str | None
    univariable_firth_hr: float | None
    univariable_firth_lower: float | None
    univariable_firth_upper: float | None
    univariable_firth_p: float | None
    univariable_firth_status: str | None
    univariable_firth_note: str | None
    adjusted_mle_hr: float | None
    adjusted_mle_lower: float | None
    adjusted_mle_upper: float | None
    adjusted_mle_p: float | None
    adjusted_mle_status: str | None
    adjusted_mle_note: str | None
    adjusted_firth_hr: float | None
    adjusted_firth_lower: float | None
    adjusted_firth_upper: float | None
    adjusted_firth_p: float | None
    adjusted_firth_status: str | None
    adjusted_firth_note: str | None
    power_events: int | None
    n_low: int | None
    n_high: int | None
    min_detectable_hr: float | None
    power_at_target_hr: float | None
    target_hr: float | None
    design_power: float | None
    alpha: float | None
    interactions: list[InteractionItem]
    cont_scale: str | None
    cont_hr: float | None
    cont_lower: float | None
    cont_upper: float | None
    cont_p: float | None
    cont_status: str | None
    spline_lr_p: float | None
    nonlinearity_p: float | None
    spline_knots: int | None
    spline_status: str | None
    rmst_tau_days: float | None
    rmst_difference: float | None
    rmst_lower: float | None
    rmst_upper: float | None
    rmst_p: float | None
    rmst_status: str | None
    cut_choices: str | None
    cut_n_choices: int | None
    cut_min_p: float | None
    cut_corrected_p: float | None
    cut_value: float | None
    cut_n_low: int | None
    cut_n_high: int | None
    cut_p_lau94: float | None
    cut_status: str | None


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
    continuous as (
        select biomarker, endpoint, subgroup,
            max(scale) filter (where model = 'per_unit') as cont_scale,
            max(hazard_ratio) filter (where model = 'per_unit') as cont_hr,
            max(hr_ci_lower) filter (where model = 'per_unit') as cont_lower,
            max(hr_ci_upper) filter (where model = 'per_unit') as cont_upper,
            max(wald_p) filter (where model = 'per_unit') as cont_p,
            max(status) filter (where model = 'per_unit') as cont_status,
            max(lr_p) filter (where model = 'rcs') as spline_lr_p,
            max(nonlinearity_p) filter (where model = 'rcs') as nonlinearity_p,
            max(json_array_length(knots)) filter (where model = 'rcs') as spline_knots,
            max(status) filter (where model = 'rcs') as spline_status
        from results.continuous_models
        where run_id = $run
        group by all
    ),
    rmst as (
        select biomarker, endpoint, subgroup,
            max(tau_days) as rmst_tau_days,
            max(difference_days) as rmst_difference,
            max(ci_lower) as rmst_lower,
            max(ci_upper) as rmst_upper,
            max(p_value) as rmst_p,
            max(status) as rmst_status
        from results.rmst
        where run_id = $run and grouping = 'q1_vs_rest' and measure = 'difference'
            and contrast = $term
        group by all
    ),
    cutpoints as (
        select f.biomarker, f.endpoint, f.subgroup,
            f.choices::varchar as cut_choices, f.n_choices as cut_n_choices,
            f.min_p as cut_min_p, f.corrected_p as cut_corrected_p,
            t.cutpoint as cut_value, t.n_low as cut_n_low, t.n_high as cut_n_high,
            t.p_lau94 as cut_p_lau94, coalesce(t.status, f.status) as cut_status
        from results.cutpoint_family_tests as f
        left join results.cutpoint_tests as t
            on t.run_id = f.run_id and t.biomarker = f.biomarker
            and t.endpoint = f.endpoint and t.subgroup = f.subgroup
        where f.run_id = $run
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
        coalesce(row_interactions.interactions, []) as interactions,
        continuous.* exclude (biomarker, endpoint, subgroup),
        rmst.* exclude (biomarker, endpoint, subgroup),
        cutpoints.* exclude (biomarker, endpoint, subgroup)
    from groups
    left join landmarks using (biomarker, endpoint, subgroup)
    left join tests using (biomarker, endpoint, subgroup)
    left join cox using (biomarker, endpoint, subgroup)
    left join power using (biomarker, endpoint, subgroup)
    left join row_interactions using (biomarker, endpoint, subgroup)
    left join continuous using (biomarker, endpoint, subgroup)
    left join rmst using (biomarker, endpoint, subgroup)
    left join cutpoints using (biomarker, endpoint, subgroup)
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


def summary_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, *, landmark_years: float | None = None
) -> list[SummaryRow]:
    """One row per biomarker x endpoint x subgroup (Q1 vs Q2-Q4), from the tables.

    Landmark survival is read at ``landmark_years``, by default the run's summary
    landmark (:attr:`RunSettings.summary_landmark_years`).
    """
    if landmark_years is None:
        landmark_years = run_settings(con, run_id).summary_landmark_years
    return typed_rows(
        con,
        SummaryRow,
        _SUMMARY_SQL.format(cox_columns=_cox_columns()),
        {"run": run_id, "years": landmark_years, "term": CONTRAST_TERM},
    )


class FamilyTestRow(TypedDict):
    biomarker: str
    endpoint: str
    p_value: float | None
    p_holm: float | None
    q_bh: float | None


def primary_family_tests(con: duckdb.DuckDBPyConnection, run_id: str) -> list[FamilyTestRow]:
    """The log-rank tests of the run's primary family (Holm/BH adjusted)."""
    return typed_rows(
        con,
        FamilyTestRow,
        """
        select biomarker, endpoint, p_value, p_holm, q_bh
        from results.logrank_tests
        where run_id = ? and family = 'primary'
        order by biomarker, endpoint desc
        """,
        [run_id],
    )


# --------------------------------------------------------------------------- genome scan


class ScanTotalRow(TypedDict):
    endpoint: str
    subgroup: str
    genes: int
    tested: int
    discoveries: int


class ScanGeneRow(TypedDict):
    endpoint: str
    gene: str
    n: int | None
    events: int | None
    n_q1: int | None
    logrank_p: float | None
    logrank_q: float | None
    trend_p: float | None
    hazard_ratio: float | None
    hr_ci_lower: float | None
    hr_ci_upper: float | None
    cox_q: float | None
    status: str | None


class ScanEndpointRow(TypedDict):
    endpoint: str
    genes: int
    tested: int
    discoveries: int
    top: list[str] | None
    top_p: list[float] | None
    top_q: list[float] | None


def scan_totals(
    con: duckdb.DuckDBPyConnection, run_id: str, *, fdr: float
) -> list[ScanTotalRow] | None:
    """Genes, tested genes and discoveries (q ≤ ``fdr``) per endpoint and subgroup; None
    for a warehouse from before the scan existed."""
    try:
        return typed_rows(
            con,
            ScanTotalRow,
            """
            select endpoint, subgroup, count(*) as genes,
                count(*) filter (where logrank_p is not null) as tested,
                count(*) filter (where logrank_q <= $fdr) as discoveries
            from results.gene_scan where run_id = $run
            group by endpoint, subgroup
            order by case endpoint when 'pfs' then 0 else 1 end, subgroup
            """,
            {"run": run_id, "fdr": fdr},
        )
    except duckdb.CatalogException:
        return None


def scan_top_genes(
    con: duckdb.DuckDBPyConnection, run_id: str, *, per_endpoint: int
) -> list[ScanGeneRow]:
    """The whole-cohort scan's ``per_endpoint`` genes of smallest log-rank p per endpoint."""
    return typed_rows(
        con,
        ScanGeneRow,
        """
        select endpoint, gene, n, events, n_q1, logrank_p, logrank_q, trend_p,
            hazard_ratio, hr_ci_lower, hr_ci_upper, cox_q, status
        from results.gene_scan where run_id = $run and subgroup = 'all'
        qualify row_number() over (partition by endpoint order by logrank_p, gene) <= $top
        order by case endpoint when 'pfs' then 0 else 1 end, logrank_p, gene
        """,
        {"run": run_id, "top": per_endpoint},
    )


def scan_by_endpoint(
    con: duckdb.DuckDBPyConnection, run_id: str, *, fdr: float, top: int
) -> list[ScanEndpointRow] | None:
    """Per endpoint of the whole-cohort scan: genes, tested, discoveries (q ≤ ``fdr``) and
    the ``top`` genes of smallest p with their p and q; None without a scan table."""
    try:
        return typed_rows(
            con,
            ScanEndpointRow,
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
                list(gene order by rank) filter (where rank <= $top) as top,
                list(logrank_p order by rank) filter (where rank <= $top) as top_p,
                list(logrank_q order by rank) filter (where rank <= $top) as top_q
            from ranked
            group by endpoint
            order by case endpoint when 'pfs' then 0 else 1 end
            """,
            {"run": run_id, "fdr": fdr, "top": top},
        )
    except duckdb.CatalogException:
        return None
