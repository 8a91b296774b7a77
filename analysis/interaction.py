"""Does the biomarker effect differ between subgroups? A Cox group x subgroup interaction.

Model ``group + subgroup + group:subgroup`` (treatment contrasts, references
``group_order[0]`` and ``subgroup_order[0]``) against the nested model without the
interaction. The reported test of interaction is the **likelihood-ratio test** between the
two (df = number of interaction terms); the Wald HR and p of each interaction term
(the ratio of the group HR in the other subgroup to that in the reference subgroup) are
reported alongside for description.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl

from analysis.cox import CoxResult, cox_model
from analysis.distributions import chi2_sf

INTERACTION_SCHEMA = {
    "model": pl.String,
    "term": pl.String,
    "hazard_ratio": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "n": pl.Int64,
    "events": pl.Int64,
    "lrt_statistic": pl.Float64,
    "lrt_df": pl.Int64,
    "lrt_p_value": pl.Float64,
    "status": pl.String,
    "method": pl.String,
    "note": pl.String,
}


def interaction_test(
    time_days: np.ndarray,
    event: np.ndarray,
    labels: np.ndarray,
    group_order: Sequence[str],
    subgroup: np.ndarray,
    *,
    subgroup_order: Sequence[str] | None = None,
    subgroup_name: str = "subgroup",
) -> pl.DataFrame:
    """Cox test of a group x subgroup interaction (likelihood-ratio p reported).

    Parameters
    ----------
    time_days, event, labels, group_order
        As :func:`analysis.endpoint.analyze_groups`.
    subgroup : np.ndarray
        Subgroup label per patient (e.g. "standard"/"high" cytogenetic risk); None = missing.
    subgroup_order : sequence of str, optional
        Reference subgroup first; default: sorted distinct labels.
    subgroup_name : str
        The subgroup variable's name, for the reason given when the test cannot be done
        (``note``: "interaction not estimable: Q1 holds no patient with
        cytogenetic_risk = high").

    Returns
    -------
    pl.DataFrame
        One row per interaction term ``"<group> vs <ref> x <subgroup> vs <ref>"`` with the
        Wald HR/CI/p of that term and the model-level LRT statistic, df and p. Status as
        :class:`analysis.cox.CoxResult`; "no_events_in_group" when a group x subgroup cell
        has no events (the interaction would be infinite); "single_group" when there are
        fewer than two groups or subgroups. ``note`` says why in words whenever there is
        no test.
    """
    order = [str(label) for label in group_order]
    label_array = np.asarray(labels, dtype=object)
    sub_array = np.asarray(subgroup, dtype=object)
    times = np.asarray(time_days, dtype=float)
    events = np.asarray(event, dtype=float)
    keep = (
        np.array([x is not None and x == x for x in label_array])
        & np.array([x is not None and x == x for x in sub_array])
        & np.isfinite(times)
        & (times >= 0)
        & np.isin(events, (0.0, 1.0))
    )
    keep &= np.isin(label_array.astype(str), order)
    group, sub = label_array[keep].astype(str), sub_array[keep].astype(str)
    times, events = times[keep], events[keep]
    levels = [str(s) for s in subgroup_order] if subgroup_order else sorted(set(sub))
    groups_present = [label for label in order if np.any(group == label)]
    subs_present = [level for level in levels if np.any(sub == level)]
    frame = pd.DataFrame({"time": times, "event": events})
    main = [label for label in groups_present[1:]]
    sub_terms = [f"sub_{level}" for level in subs_present[1:]]
    for label in main:
        frame[label] = (group == label).astype(float)
    for level in subs_present[1:]:
        frame[f"sub_{level}"] = (sub == level).astype(float)
    names: dict[str, str] = {}
    for label in main:
        for level in subs_present[1:]:
            column = f"{label}:{level}"
            frame[column] = frame[label] * frame[f"sub_{level}"]
            names[column] = f"{label} vs {order[0]} x {level} vs {subs_present[0]}"
    n, n_events = len(frame), int(events.sum())

    def status_frame(status: str, reason: str) -> pl.DataFrame:
        terms = list(names.values()) or ["interaction"]
        note = f"interaction not estimable: {reason}"
        empty = (None, None, None, None)
        rows = [
            ("interaction", t, *empty, n, n_events, None, None, None, status, "mle", note)
            for t in terms
        ]
        return pl.DataFrame(rows, schema=INTERACTION_SCHEMA, orient="row")

    if len(groups_present) < 2 or order[0] not in groups_present:
        present = ", ".join(groups_present) or "no group"
        return status_frame("single_group", f"patients in {present} only")
    if len(subs_present) < 2:
        present = ", ".join(f"{subgroup_name} = {level}" for level in subs_present)
        return status_frame("single_group", f"patients with {present or 'no value'} only")
    if n_events == 0:
        return status_frame("no_events", "no events")
    for label in groups_present:
        for level in subs_present:
            cell = (group == label) & (sub == level)
            if not cell.any():
                reason = f"{label} holds no patient with {subgroup_name} = {level}"
                return status_frame("no_events_in_group", reason)
            if events[cell].sum() == 0:
                reason = (
                    f"no events among the {int(cell.sum())} {label} patients with "
                    f"{subgroup_name} = {level}"
                )
                return status_frame("no_events_in_group", reason)

    def fit(terms: list[str]) -> CoxResult:
        return cox_model(frame[terms].to_numpy(), times, events, terms, ph_test=False)

    reduced = fit([*main, *sub_terms])
    full = fit([*main, *sub_terms, *names])
    if reduced.log_likelihood is None or full.log_likelihood is None:
        failed = full if full.log_likelihood is None else reduced
        return status_frame(failed.status, "; ".join(failed.warnings) or failed.status)
    statistic = max(0.0, 2.0 * (full.log_likelihood - reduced.log_likelihood))
    df = len(names)
    p_value = chi2_sf(float(statistic), int(df))
    rows = []
    for column, name in names.items():
        term = full.term(column)
        rows.append(
            (
                "interaction",
                name,
                term.hazard_ratio,
                term.ci_lower,
                term.ci_upper,
                term.p_value,
                n,
                n_events,
                statistic,
                df,
                p_value,
                full.status,
                "mle",
                None,
            )
        )
    return pl.DataFrame(rows, schema=INTERACTION_SCHEMA, orient="row")
