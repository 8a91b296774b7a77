"""The ``results`` schema: a stable, documented contract that users query with SQL.

Every row carries ``run_id``; a run's rows appear together (one transaction) or not at
all. ``results.latest_*`` views show the latest *succeeded* run, so a failed or
interrupted run never hides the previous results. Column meanings: docs/results.md.
"""

from __future__ import annotations

import duckdb

KEYS = (
    "run_id varchar not null, biomarker varchar not null, endpoint varchar not null, "
    "grouping varchar not null, subgroup varchar not null"
)

#: Keys of the tables that do not depend on a grouping (continuous models, cut points).
BIOMARKER_KEYS = (
    "run_id varchar not null, biomarker varchar not null, endpoint varchar not null, "
    "subgroup varchar not null"
)

TABLES: dict[str, str] = {
    "analysis_runs": """
        run_id varchar primary key, started_at timestamp, finished_at timestamp,
        status varchar not null, study varchar, spec_path varchar, spec_sha256 varchar,
        input_sha256 varchar, batch_id bigint, is_simulated boolean,
        dbt_invocation_id varchar, quality_run_id varchar, code_version varchar,
        settings json, error varchar
    """,
    "group_summary": f"""
        {KEYS}, group_label varchar not null, n integer, events integer,
        cutpoint_low double, cutpoint_high double, median_days double,
        median_ci_lower double, median_ci_upper double, status varchar
    """,
    "km_landmarks": f"""
        {KEYS}, group_label varchar not null, time_years double, time_days double,
        n_at_risk integer, survival double, ci_lower double, ci_upper double,
        ci_method varchar, ci_status varchar
    """,
    "km_curves": f"""
        {KEYS}, group_label varchar not null, time_days double, n_at_risk integer,
        events integer, censored integer, survival double, ci_lower double, ci_upper double
    """,
    "logrank_tests": f"""
        {KEYS}, test varchar not null, statistic double, df integer, p_value double,
        status varchar, family varchar, p_holm double, q_bh double
    """,
    "cox_models": f"""
        {KEYS}, model varchar not null, term varchar not null, hazard_ratio double,
        ci_lower double, ci_upper double, p_value double, n integer, events integer,
        events_per_variable double, ph_test_p double, ph_test_global_p double,
        lrt_statistic double, lrt_df integer, lrt_p_value double, status varchar,
        method varchar, note varchar
    """,
    "power": f"""
        {KEYS}, contrast varchar not null, n_low integer, n_high integer, events integer,
        allocation double, alpha double, power double, min_detectable_hr double,
        target_hr double, power_at_target_hr double, status varchar
    """,
    "continuous_models": f"""
        {BIOMARKER_KEYS}, model varchar not null, scale varchar, increment double,
        n integer, events integer, coef double, se double, hazard_ratio double,
        hr_ci_lower double, hr_ci_upper double, wald_p double, lr_statistic double,
        lr_df integer, lr_p double, nonlinearity_statistic double, nonlinearity_df integer,
        nonlinearity_p double, knots json, status varchar, note varchar
    """,
    "continuous_curves": f"""
        {BIOMARKER_KEYS}, value double, log_hr double, ci_lower double, ci_upper double
    """,
    "rmst": f"""
        {KEYS}, group_label varchar, contrast varchar, measure varchar not null,
        tau_days double, rmst_days double, se double, ci_lower double, ci_upper double,
        difference_days double, ratio double, p_value double, status varchar
    """,
    "cutpoint_tests": f"""
        {BIOMARKER_KEYS}, method varchar not null, min_prop double, max_prop double,
        statistic double, cutpoint double, n_low integer, n_high integer, p_lau92 double,
        p_lau94 double, p_permutation double, permutation_se double, permutations integer,
        seed bigint, status varchar
    """,
    "cutpoint_family_tests": f"""
        {BIOMARKER_KEYS}, n_choices integer, choices json, min_p double, corrected_p double,
        permutations integer, seed bigint, status varchar
    """,
    "gene_scan": """
        run_id varchar not null, gene varchar not null, endpoint varchar not null,
        subgroup varchar not null, n integer, events integer, q25 double, n_q1 integer,
        events_q1 integer, logrank_statistic double, logrank_p double, logrank_q double,
        quartiles_statistic double, quartiles_df integer, quartiles_p double,
        quartiles_q double, trend_statistic double, trend_p double, trend_q double,
        hazard_ratio double, hr_ci_lower double, hr_ci_upper double, cox_p double,
        cox_q double, status varchar
    """,
    "gene_scan_curves": """
        run_id varchar not null, gene varchar not null, endpoint varchar not null,
        group_label varchar not null, time_days double, n_at_risk integer, events integer,
        censored integer, survival double, ci_lower double, ci_upper double
    """,
    "group_assignments": """
        run_id varchar not null, biomarker varchar not null, grouping varchar not null,
        subgroup varchar not null, patient_id varchar not null, value double,
        group_label varchar
    """,
}


#: Every cut-point choice a study has analysed on the same cohort data, across runs and
#: spec edits (the cut-point family of results.cutpoint_family_tests). Not per run: it has
#: no run_id and no latest_ view.
LEDGER = "cutpoint_ledger"
LEDGER_COLUMNS = """
    study varchar not null, input_sha256 varchar not null, biomarker varchar not null,
    endpoint varchar not null, subgroup varchar not null, grouping varchar not null,
    first_run_id varchar, last_run_id varchar, n_runs integer, last_p double,
    primary key (study, input_sha256, biomarker, endpoint, subgroup, grouping)
"""


def ensure_results_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the results tables and the latest_* views (idempotent)."""
    con.execute("create schema if not exists results")
    for name, columns in TABLES.items():
        con.execute(f"create table if not exists results.{name} ({columns})")
        # Columns added by a later version reach existing warehouses (never dropped).
        for definition in columns.split(","):
            column, column_type = definition.split()[:2]
            con.execute(
                f"alter table results.{name} add column if not exists {column} {column_type}"
            )
    con.execute(f"create table if not exists results.{LEDGER} ({LEDGER_COLUMNS})")
    # Rows from before the Firth rows existed are all maximum likelihood fits.
    con.execute("update results.cox_models set method = 'mle' where method is null")
    con.execute(
        "create or replace view results.latest_run as "
        "select * from results.analysis_runs where status = 'succeeded' "
        "order by finished_at desc limit 1"
    )
    for name in TABLES:
        if name == "analysis_runs":
            continue
        con.execute(
            f"create or replace view results.latest_{name} as "
            f"select * from results.{name} "
            "where run_id = (select run_id from results.latest_run)"
        )
