"""Cox wrapper: statuses, R-level convergence, PH test plumbing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cox import cox_model


def _cox_on(frame: pd.DataFrame, time: str, event: str, terms: list[str], **options):
    """cox_model on the named columns of a frame."""
    return cox_model(frame[terms].to_numpy(), frame[time], frame[event], terms, **options)


def _frame(seed: int = 0, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n).astype(float)
    time = rng.exponential(1 / np.exp(0.7 * group))
    return pd.DataFrame({"time": time, "event": (rng.random(n) < 0.8).astype(float), "g": group})


def test_ok_model_reports_everything() -> None:
    result = _cox_on(_frame(), "time", "event", ["g"])
    assert result.status == "ok"
    row = result.term("g")
    assert row.hazard_ratio == pytest.approx(np.exp(row.coef))
    assert row.ci_lower < row.hazard_ratio < row.ci_upper
    assert result.ph_test_global_p == pytest.approx(row.ph_test_p)  # one term: same test
    assert result.events_per_variable == result.events


def test_few_events_per_variable_is_a_warning_not_a_failure() -> None:
    frame = _frame(n=30)
    frame["noise"] = np.random.default_rng(1).normal(size=len(frame))
    result = cox_model(
        frame[["g", "noise"]].to_numpy(),
        frame["time"],
        frame["event"],
        ["g", "noise"],
        min_events_per_variable=100,
    )
    assert result.status == "few_events_per_variable"
    assert result.term("g").hazard_ratio is not None
    assert any("events per variable" in note for note in result.warnings)


def test_no_events_in_group_gives_none_not_infinity() -> None:
    frame = _frame()
    frame.loc[frame["g"] == 1, "event"] = 0.0
    result = cox_model(frame[["g"]].to_numpy(), frame["time"], frame["event"], ["g"])
    assert result.status == "no_events_in_group"
    assert result.term("g").hazard_ratio is None


def test_no_events_and_constant_term() -> None:
    frame = _frame()
    assert _cox_on(frame.assign(event=0.0), "time", "event", ["g"]).status == "no_events"
    assert _cox_on(frame.assign(g=1.0), "time", "event", ["g"]).status == "single_group"


def test_global_ph_test_is_cox_zph_of_the_fitted_model() -> None:
    """Plumbing: the stored per-term and global p are those of analysis.zph at the fitted
    coefficients (whose equality with R is tested in tests/reference/test_r_cox_zph.py)."""
    from analysis.cox_fitter import fit_efron
    from analysis.zph import cox_zph

    frame = _frame()
    frame["x"] = np.random.default_rng(3).normal(size=len(frame))
    result = cox_model(frame[["g", "x"]].to_numpy(), frame["time"], frame["event"], ["g", "x"])
    design = frame[["g", "x"]].to_numpy()
    fit = fit_efron(design, frame["time"].to_numpy(), frame["event"].to_numpy() > 0)
    zph = cox_zph(design, frame["time"].to_numpy(), frame["event"].to_numpy() > 0, fit.coef)
    assert result.ph_test_global_p == pytest.approx(zph.global_test.p_value, rel=1e-12)
    assert result.term("x").ph_test_p == pytest.approx(zph.terms[1].p_value, rel=1e-12)


def test_wald_statistics_equal_lifelines_and_the_ph_test_is_r_not_lifelines() -> None:
    """Our Wald CI/p equal lifelines' summary (an independent implementation), to the
    precision both fits converge to. The PH test is R survival >= 3.0's ``cox.zph`` (score
    test, left-continuous KM transform; R references in test_r_cox_zph.py), which differs
    from lifelines' ``proportional_hazard_test`` (the pre-3.0 approximation with a
    right-continuous transform) by design: on this tied data set measurably so."""
    import numpy as np
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    from analysis.cox import FIT_OPTIONS, cox_model

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "time": np.round(rng.exponential(400, 120)),  # rounded: tied times included
            "event": (rng.random(120) < 0.7).astype(float),
            "high": (rng.random(120) < 0.5).astype(float),
            "age": rng.normal(60, 8, 120),
        }
    )
    result = cox_model(
        frame[["high", "age"]].to_numpy(), frame["time"], frame["event"], ["high", "age"]
    )
    fitter = CoxPHFitter().fit(frame, "time", "event", fit_options=FIT_OPTIONS)
    summary = fitter.summary
    ph = proportional_hazard_test(fitter, frame, time_transform="km")
    for position, term in enumerate(result.terms):
        assert term.ci_lower == pytest.approx(
            summary.loc[term.term, "exp(coef) lower 95%"], rel=1e-6
        )
        assert term.ci_upper == pytest.approx(
            summary.loc[term.term, "exp(coef) upper 95%"], rel=1e-6
        )
        assert term.p_value == pytest.approx(summary.loc[term.term, "p"], rel=1e-6)
        lifelines_p = float(np.atleast_1d(ph.p_value)[position])
        assert term.ph_test_p != pytest.approx(lifelines_p, rel=1e-3)


def test_covariate_is_kept_when_only_the_group_term_is_degenerate() -> None:
    """Group g = 1 has no events: its coefficient diverges, but the covariate's MLE has a
    finite limit, the fit among the g = 0 patients. It is reported, with the reason; the
    group term is not, with its reason."""
    frame = _frame(seed=4)
    frame["x"] = np.random.default_rng(5).normal(size=len(frame))
    frame.loc[frame["g"] == 1, "event"] = 0.0
    result = cox_model(frame[["g", "x"]].to_numpy(), frame["time"], frame["event"], ["g", "x"])
    assert result.status == "no_events_in_group"
    group, covariate = result.term("g"), result.term("x")
    assert group.hazard_ratio is None and group.status == "no_events_in_group"
    assert "no events among the patients with g = 1" in group.note
    alone = _cox_on(frame[frame["g"] == 0], "time", "event", ["x"]).term("x")
    assert covariate.coef == pytest.approx(alone.coef, rel=1e-12)
    assert covariate.se == pytest.approx(alone.se, rel=1e-12)
    assert covariate.status == "ok" and "estimated without g (not estimable)" in covariate.note
