"""The paper-style summary of a run, read back from the result tables.

One block per biomarker x endpoint x subgroup for the Q1 vs Q2-Q4 contrast, e.g.::

    IKZF1    PFS  all  Q1 vs Q2-Q4  n=15/45  3-y 80% (50-93) vs 53% (38-67)
        log-rank p=0.017 (nominal; primary family of 8: Holm p=0.120, BH q=0.068)
        HR Q2-Q4 vs Q1: univariable 3.96 (1.20-13.1) p=0.024; adjusted for
        cytogenetic_risk 2.91 (0.82-10.3) p=0.098 [few_events_per_variable]
        interaction with cytogenetic_risk: p=0.412 (likelihood ratio, nominal)

Reading the tables (not the in-memory objects) means the printed numbers are the
stored numbers. The rows come from :mod:`pipelines.report.summary_queries`, and the sentences
below feed both the terminal and the HTML report (:mod:`pipelines.report.result_tables`),
so the terminal and the page say the same thing; numbers are formatted by
:mod:`analysis.formatting`. Every p-value says whether it is adjusted; every subgroup
line carries its interaction test or the reason there is none; a non-significant
contrast says what it could have detected. When the study spec names a ``reference``,
its published figures are shown beside the run's, labelled with the citation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import duckdb
from rich.console import Console

from analysis.formatting import (
    format_count,
    format_expression,
    format_hr,
    format_landmark,
    format_level,
    format_months,
    format_p,
    format_percent,
    format_ratio,
    format_survival,
    format_years,
)
from pipelines.errors import AnalysisRunNotFound
from pipelines.report.queries import analysis_run, run_settings
from pipelines.report.summary_queries import (
    CONTRAST_TERM,
    FamilyTestRow,
    SummaryRow,
    primary_family_tests,
    scan_by_endpoint,
    summary_rows,
)
from pipelines.spec import ReferenceSettings

#: A p-value below this is called significant in the sentences (nominal, two-sided).
SIGNIFICANCE = 0.05
#: Genes named per endpoint in the scan's one-line summary.
SCAN_GENES_NAMED = 3
#: Said under the summary of a simulated cohort whose spec has published figures.
SIMULATED_REFERENCE_NOTE = (
    "Simulated demo cohort: one random draw of a model calibrated to the published "
    "figures; it is not the study's data and is not tuned to match them."
)


# -- sentences shared by the terminal and the report -------------------------------------


def survival_text(row: SummaryRow, landmark_years: float) -> str:
    """``3-y 80% (50-93) vs 53% (38-67)``, an interval that cannot be given says why."""
    return (
        f"{format_landmark(landmark_years)} "
        f"{format_survival(row['s_q1'], row['l_q1'], row['u_q1'], row['c_q1'])} vs "
        f"{format_survival(row['s_rest'], row['l_rest'], row['u_rest'], row['c_rest'])}"
    )


def published_text(reference: ReferenceSettings | None, row: SummaryRow) -> str:
    """The reference's published ``86% vs 51%, p=0.01`` for a whole-cohort row it
    reports (Q1 vs Q2-Q4 at its landmark), else ""."""
    if reference is None or row["subgroup"] != "all":
        return ""
    for result in reference.results:
        if (result.biomarker, result.endpoint) == (row["biomarker"], row["endpoint"]):
            return f"{format_percent(result.low)} vs {format_percent(result.high)}, p={result.p}"
    return ""


def logrank_text(row: SummaryRow) -> str:
    """The log-rank p and whether it is adjusted, and for what family."""
    p = format_p(row["p_value"])
    if row["family"] != "primary":
        return f"log-rank {p} (nominal, not adjusted)"
    adjusted = [
        text
        for text in (
            f"Holm {format_p(row['p_holm'])}" if row["p_holm"] is not None else "",
            f"BH {format_p(row['q_bh'], label='q')}" if row["q_bh"] is not None else "",
        )
        if text
    ]
    size = row["family_size"] or 0
    return f"log-rank {p} (nominal; primary family of {size}: {', '.join(adjusted)})"


def _model_text(row: SummaryRow, model: str, label: str) -> str:
    values = cast(Mapping[str, Any], row)  # the model's columns: {model}_{method}_{value}
    hr, status = values[f"{model}_mle_hr"], values[f"{model}_mle_status"]
    if status is None:
        return ""
    if hr is not None:
        interval = format_hr(hr, values[f"{model}_mle_lower"], values[f"{model}_mle_upper"])
        text = f"{label} {interval} {format_p(values[f'{model}_mle_p'])}"
        if status != "ok":
            text += f" [{status}]"
    else:
        reason = str(values[f"{model}_mle_note"] or status).removeprefix("not estimable: ")
        text = f"{label} not estimable: {reason}"
    firth_hr = values[f"{model}_firth_hr"]
    if firth_hr is not None:
        interval = format_hr(
            firth_hr, values[f"{model}_firth_lower"], values[f"{model}_firth_upper"]
        )
        text += (
            f"; Firth-penalised {interval} (profile-likelihood CI), "
            f"penalised LR {format_p(values[f'{model}_firth_p'])}"
        )
    return text


def hazard_ratio_text(row: SummaryRow, adjust_for: Sequence[str]) -> str:
    """Univariable and adjusted HR side by side, each with its status or reason."""
    parts = [_model_text(row, "univariable", "univariable")]
    if adjust_for:
        adjusted = _model_text(row, "adjusted", f"adjusted for {', '.join(adjust_for)}")
        parts.append(adjusted or f"adjusted for {', '.join(adjust_for)}: not fitted")
    return f"HR {CONTRAST_TERM}: " + "; ".join(part for part in parts if part)


def interaction_text(row: SummaryRow, subgroups: Sequence[str]) -> str:
    """The interaction test behind a subgroup contrast, or why there is none."""
    found = {item["variable"]: item for item in row["interactions"] or []}
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


def power_text(row: SummaryRow) -> str:
    """What the contrast could have detected (Schoenfeld), for non-significant results."""
    if row["power_events"] is None:
        return ""
    if row["min_detectable_hr"] is None:
        return f"power: not computable ({row['power_events']} events)"
    power = row["power_at_target_hr"]
    at_target = (
        f"; power at HR {format_ratio(row['target_hr'])}: {format_percent(power)}"
        if power is not None
        else ""
    )
    return (
        f"power: with {row['power_events']} events and {row['n_low']}:{row['n_high']} "
        f"allocation, HRs below {format_ratio(row['min_detectable_hr'])} were not detectable "
        f"with {format_percent(row['design_power'])} power (two-sided alpha "
        f"{format_level(row['alpha'])}){at_target}"
    )


def continuous_text(row: SummaryRow) -> str:
    """The biomarker as a continuous value: HR per unit (per doubling on a log2 scale) and
    the spline's tests, so a reader sees whether the quartile step is a smooth trend."""
    if row.get("cont_status") is None:
        return ""
    scale = str(row.get("cont_scale") or "")
    unit = "per doubling" if "log2" in scale else f"per unit ({scale})" if scale else "per unit"
    if row["cont_hr"] is None:
        text = f"continuous: not estimable ({row['cont_status']})"
    else:
        estimate = format_hr(row["cont_hr"], row["cont_lower"], row["cont_upper"])
        text = f"continuous: HR {unit} {estimate} {format_p(row['cont_p'])}"
    if row.get("spline_lr_p") is not None:
        status = "" if row["spline_status"] == "ok" else f" [{row['spline_status']}]"
        text += (
            f"; spline ({row['spline_knots']} knots) {format_p(row['spline_lr_p'])}, "
            f"non-linearity {format_p(row['nonlinearity_p'])}{status}"
        )
    return text


def rmst_text(row: SummaryRow, days_per_year: float) -> str:
    """Restricted mean survival time difference (Q2-Q4 minus Q1), in months."""
    if row.get("rmst_status") is None:
        return ""
    tau = row["rmst_tau_days"]
    if row["rmst_difference"] is None or tau is None:
        return f"RMST: not estimable ({row['rmst_status']})"

    def months(days: float) -> str:
        return format_months(days, days_per_year=days_per_year, signed=True)

    horizon = format_years(tau, days_per_year=days_per_year)
    text = f"RMST over {horizon} y: Q2-Q4 minus Q1 {months(row['rmst_difference'])} months"
    if row["rmst_lower"] is None or row["rmst_upper"] is None:
        reason = str(row["rmst_status"]).replace("_", " ")
        return f"{text} (no CI or p: a group has {reason})"
    interval = f"95% CI {months(row['rmst_lower'])} to {months(row['rmst_upper'])}"
    return f"{text} ({interval}) {format_p(row['rmst_p'])}"


def cutpoint_text(row: SummaryRow) -> str:
    """How many cut points were tried on this cohort, the smallest p corrected for them,
    and the maximally selected cut, labelled exploratory."""
    if row.get("cut_n_choices") is None:
        return ""
    names = [item["choice"] for item in json.loads(row["cut_choices"] or "[]")]
    text = (
        f"cut points: {row['cut_n_choices']} choices tried on this cohort "
        f"({', '.join(names)}); smallest {format_p(row['cut_min_p'])}, corrected for the "
        f"choices {format_p(row['cut_corrected_p'])} (permutation)"
    )
    if row.get("cut_value") is not None:
        text += (
            f"; exploratory best cut (maxstat) at {format_expression(row['cut_value'])} "
            f"({row['cut_n_low']}/{row['cut_n_high']} patients), "
            f"{format_p(row['cut_p_lau94'])} (Lausen 1994, corrected for the cuts searched)"
        )
    return text


def is_significant(row: SummaryRow) -> bool:
    """Nominal log-rank p below 0.05 (the sentence that follows says if it survives)."""
    return row["p_value"] is not None and row["p_value"] < SIGNIFICANCE


def family_sentence(tests: Sequence[FamilyTestRow], grouping: str) -> str:
    """Which p-values are nominal, how many tests the primary family (the whole-cohort
    ``grouping`` log-rank tests) holds, and which results survive adjustment."""
    if not tests:
        return (
            "Multiplicity: no primary family was declared for this run; every p-value "
            "shown is nominal (unadjusted)."
        )

    def below(value: float | None) -> bool:
        return value is not None and value < SIGNIFICANCE

    def name(test: FamilyTestRow) -> str:
        return f"{test['biomarker']} {str(test['endpoint']).upper()}"

    holm = [name(test) for test in tests if below(test["p_holm"])]
    bh = [name(test) for test in tests if below(test["q_bh"])]
    nominal = sum(1 for test in tests if below(test["p_value"]))
    biomarkers = len({test["biomarker"] for test in tests})
    endpoints = len({test["endpoint"] for test in tests})
    level = format_level(SIGNIFICANCE)
    return (
        f"Multiplicity: the primary family is the whole-cohort "
        f"{grouping} log-rank test of {biomarkers} "
        f"biomarker(s) x {endpoints} endpoint(s) ({len(tests)} tests; {nominal} with nominal "
        f"p < {level}). After Holm "
        f"adjustment {len(holm)} remain below {level}"
        f"{' (' + ', '.join(holm) + ')' if holm else ''}; with BH q < {level}: {len(bh)}"
        f"{' (' + ', '.join(bh) + ')' if bh else ''}. Every other p-value (subgroups, "
        "other groupings, Cox, interaction, trend, continuous, spline, RMST) is nominal and "
        "unadjusted."
    )


# -- the terminal ------------------------------------------------------------------------


def print_summary(
    console: Console,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    overall_only: bool = False,
) -> None:
    """Print one block per row, beside the published figures when the spec names them.

    ``overall_only`` keeps the whole-cohort rows (``cohort run``'s short summary).
    """
    run = analysis_run(con, run_id)
    if run is None:
        raise AnalysisRunNotFound(f"no analysis run {run_id!r} in results.analysis_runs")
    settings, is_simulated = run.settings, bool(run.row["is_simulated"])
    label = " — SIMULATED data, not patient data" if is_simulated else ""
    console.print(
        f"{run.row['study']}: analysis run {run_id}{label}", soft_wrap=True, highlight=False
    )
    reference = settings.reference
    landmark = settings.summary_landmark_years
    for row in summary_rows(con, run_id, landmark_years=landmark):
        if overall_only and row["subgroup"] != "all":
            continue
        line = (
            f"{row['biomarker']:<8} {str(row['endpoint']).upper():<4} {row['subgroup']:<28} "
            f"Q1 vs Q2-Q4  n={row['n_q1']}/{row['n_rest']}  {survival_text(row, landmark)}"
        )
        published = published_text(reference, row)
        if reference is not None and published:
            line += f"   [published, {reference.citation}: {published}]"
        lines = [line, logrank_text(row), hazard_ratio_text(row, settings.adjust_for)]
        lines.append(interaction_text(row, settings.subgroups))
        lines += [continuous_text(row), rmst_text(row, settings.days_per_year)]
        lines.append(cutpoint_text(row))
        if not is_significant(row):
            lines.append(power_text(row))
        console.print(line, soft_wrap=True, highlight=False, markup=False)
        for detail in lines[1:]:
            if detail:
                console.print(f"    {detail}", soft_wrap=True, highlight=False, markup=False)
    sentence = family_sentence(primary_family_tests(con, run_id), settings.family_grouping)
    console.print(sentence, soft_wrap=True, highlight=False, markup=False)
    if reference is not None and is_simulated:
        console.print(SIMULATED_REFERENCE_NOTE, soft_wrap=True, highlight=False)


def print_scan_summary(console: Console, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """One line per endpoint of the run's genome-wide scan (nothing if it had none)."""
    fdr = run_settings(con, run_id).scan.fdr
    rows = scan_by_endpoint(con, run_id, fdr=fdr, top=SCAN_GENES_NAMED)
    for row in rows or []:
        best = ", ".join(
            f"{gene} {format_p(p)} {format_p(q, label='q')}"
            for gene, p, q in zip(
                row["top"] or [], row["top_p"] or [], row["top_q"] or [], strict=True
            )
        )
        console.print(
            f"Genome scan {str(row['endpoint']).upper():<4} {format_count(row['genes'])} genes "
            f"({format_count(row['tested'])} tested): {row['discoveries']} with "
            f"q ≤ {format_level(fdr)} (Q1 vs Q2-Q4 log-rank, BH); smallest p: {best}",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
