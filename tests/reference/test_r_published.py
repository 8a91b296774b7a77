"""Reference tests against published R ``survival`` output on aml, ovarian and lung.

Sources (each number below cites one of these):
[DOAML]  R survival package, tests/doaml.Rout.save (saved reference output, R 2.11.1),
         github.com/therneau/survival: survfit/summary/survdiff/coxph on ``aml``.
[OVAR]   R survival package, tests/ovarian.Rout.save (same repository): survfit and
         coxph on ``ovarian``.
[LUNGSD] survdiff(Surv(time, status) ~ sex, lung) printed in "Machine Learning with R
         Cookbook" 2nd ed. (Packt), recipe "Using the log-rank test".
[LUNGCX] summary(coxph(Surv(time, status) ~ sex, data = lung)) quoted in the Cross
         Validated question "Get standard error of exponentiated coefficient in cox
         regression" (stats.stackexchange.com).
Printed values are rounded; tolerances are half a unit of the last printed digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from analysis.cox import cox_model
from analysis.endpoint import analyze_groups
from analysis.logrank import logrank_test
from analysis.survival import km_curve, median_survival

TEXTBOOK = Path(__file__).resolve().parents[1] / "data" / "textbook"


def _half_unit(printed: str) -> float:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals + 1e-12


def _close(value: float, printed: str) -> bool:
    return abs(value - float(printed)) <= _half_unit(printed)


@pytest.fixture(scope="module")
def aml() -> pd.DataFrame:
    return pd.read_csv(TEXTBOOK / "aml.csv")


@pytest.fixture(scope="module")
def ovarian() -> pd.DataFrame:
    return pd.read_csv(TEXTBOOK / "ovarian.csv")


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    frame = pd.read_csv(TEXTBOOK / "lung.csv")
    return frame.assign(event=(frame["status"] == 2).astype(float))


# [DOAML] summary(survfit(Surv(time, status) ~ x, aml)): R's default conf.type = "log".
AML_KM = {
    "Maintained": [
        ("9", "11", "0.909", "0.0867", "0.7541", "1.000"),
        ("13", "10", "0.818", "0.1163", "0.6192", "1.000"),
        ("18", "8", "0.716", "0.1397", "0.4884", "1.000"),
        ("23", "7", "0.614", "0.1526", "0.3769", "0.999"),
        ("31", "5", "0.491", "0.1642", "0.2549", "0.946"),
        ("34", "4", "0.368", "0.1627", "0.1549", "0.875"),
        ("48", "2", "0.184", "0.1535", "0.0359", "0.944"),
    ],
    "Nonmaintained": [
        ("5", "12", "0.8333", "0.1076", "0.6470", "1.000"),
        ("8", "10", "0.6667", "0.1361", "0.4468", "0.995"),
        ("12", "8", "0.5833", "0.1423", "0.3616", "0.941"),
        ("23", "6", "0.4861", "0.1481", "0.2675", "0.883"),
        ("27", "5", "0.3889", "0.1470", "0.1854", "0.816"),
        ("30", "4", "0.2917", "0.1387", "0.1148", "0.741"),
        ("33", "3", "0.1944", "0.1219", "0.0569", "0.664"),
        ("43", "2", "0.0972", "0.0919", "0.0153", "0.620"),
    ],
}


@pytest.mark.parametrize("arm", sorted(AML_KM))
def test_aml_kaplan_meier_table(aml: pd.DataFrame, arm: str) -> None:
    data = aml[aml["x"] == arm]
    curve = km_curve(data["time"].to_numpy(), data["status"].to_numpy(), ci_method="log")
    events = curve.filter(pl.col("events") > 0)
    for time, n_risk, surv, std_err, lower, upper in AML_KM[arm]:
        row = events.filter(pl.col("time_days") == float(time)).row(0, named=True)
        assert row["n_at_risk"] == int(n_risk)
        assert _close(row["survival"], surv)
        assert _close(row["std_err"], std_err)
        assert _close(row["ci_lower"], lower)
        assert _close(row["ci_upper"], upper)


def test_aml_medians(aml: pd.DataFrame) -> None:
    # [DOAML] print(survfit): Maintained median 31 (0.95LCL 18, UCL NA); Nonmaintained 23 (8, NA).
    expected = {"Maintained": (31.0, 18.0, None), "Nonmaintained": (23.0, 8.0, None)}
    for arm, published in expected.items():
        data = aml[aml["x"] == arm]
        curve = km_curve(data["time"].to_numpy(), data["status"].to_numpy(), ci_method="log")
        assert median_survival(curve) == published


def test_aml_survdiff(aml: pd.DataFrame) -> None:
    # [DOAML] survdiff: Observed 7 / 11, Expected 10.69 / 7.31, Chisq = 3.4 on 1 df, p = 0.0653.
    result = logrank_test(aml["time"].to_numpy(), aml["status"].to_numpy(), aml["x"].to_numpy())
    assert result.observed == (7.0, 11.0)
    assert _close(result.expected[0], "10.69") and _close(result.expected[1], "7.31")
    assert _close(result.statistic, "3.4") and result.df == 1
    assert _close(result.p_value, "0.0653")


def test_aml_coxph_efron(aml: pd.DataFrame) -> None:
    # [DOAML] coxph(Surv(time, status) ~ x, aml, method = "efron"): coef 0.916, exp(coef) 2.5,
    # se 0.512, z 1.79, p 0.074 (Wald); likelihood ratio test 3.38.
    frame = aml.assign(nonmaintained=(aml["x"] == "Nonmaintained").astype(float))
    row = cox_model(
        frame[["nonmaintained"]].to_numpy(), frame["time"], frame["status"], ["nonmaintained"]
    ).term("nonmaintained")
    assert _close(row.coef, "0.916")
    assert _close(row.hazard_ratio, "2.5")
    assert _close(row.se, "0.512")
    assert _close(row.coef / row.se, "1.79")
    assert _close(row.p_value, "0.074")


def test_aml_through_analyze_groups(aml: pd.DataFrame) -> None:
    # The same published numbers through the orchestrator's entry point, with
    # Maintained as the reference group (HR of Nonmaintained vs Maintained).
    result = analyze_groups(
        aml["time"].to_numpy(),
        aml["status"].to_numpy(),
        aml["x"].to_numpy(dtype=object),
        ("Maintained", "Nonmaintained"),
        landmarks_days=[18.0],
        ci_method="log",
    )
    assert _close(result.logrank["statistic"][0], "3.4")
    assert _close(result.logrank["p_value"][0], "0.0653")
    cox = result.cox.row(0, named=True)
    assert cox["term"] == "Nonmaintained vs Maintained"
    assert _close(cox["hazard_ratio"], "2.5") and _close(cox["p_value"], "0.074")
    medians = dict(
        zip(result.group_summary["group_label"], result.group_summary["median_days"], strict=True)
    )
    assert medians == {"Maintained": 31.0, "Nonmaintained": 23.0}
    landmark = result.km_landmarks.filter(pl.col("group_label") == "Maintained").row(0, named=True)
    assert _close(landmark["survival"], "0.716") and landmark["n_at_risk"] == 8


def test_ovarian_kaplan_meier(ovarian: pd.DataFrame) -> None:
    # [OVAR] summary(survfit(Surv(futime, fustat) ~ 1)): rows at 365, 638 (log CI).
    curve = km_curve(ovarian["futime"].to_numpy(), ovarian["fustat"].to_numpy(), ci_method="log")
    for time, n_risk, surv, std_err, lower, upper in [
        ("365", "20", "0.731", "0.0870", "0.579", "0.923"),
        ("638", "11", "0.497", "0.1051", "0.328", "0.752"),
    ]:
        row = curve.filter(pl.col("time_days") == float(time)).row(0, named=True)
        assert row["n_at_risk"] == int(n_risk)
        for key, printed in [
            ("survival", surv), ("std_err", std_err), ("ci_lower", lower), ("ci_upper", upper),
        ]:  # fmt: skip
            assert _close(row[key], printed)


def test_ovarian_coxph_age(ovarian: pd.DataFrame) -> None:
    # [OVAR] coxph(Surv(futime, fustat) ~ age): coef 0.162, exp 1.18, se 0.0497, p 0.0012.
    result = cox_model(ovarian[["age"]].to_numpy(), ovarian["futime"], ovarian["fustat"], ["age"])
    row = result.term("age")
    assert _close(row.coef, "0.162") and _close(row.hazard_ratio, "1.18")
    assert _close(row.se, "0.0497") and _close(row.p_value, "0.0012")
    assert (result.n, result.events) == (26, 12)


def test_ovarian_coxph_three_terms(ovarian: pd.DataFrame) -> None:
    # [OVAR] coxph(Surv(futime, fustat) ~ age + rx + ecog.ps):
    #   age 0.147 (se 0.0463, p 0.0015); rx -0.815 (0.6342, 0.20); ecog.ps 0.103 (0.6064, 0.86).
    result = cox_model(
        ovarian[["age", "rx", "ecog.ps"]].to_numpy(),
        ovarian["futime"],
        ovarian["fustat"],
        ["age", "rx", "ecog.ps"],
    )
    published = {
        "age": ("0.147", "0.0463", "0.0015"),
        "rx": ("-0.815", "0.6342", "0.20"),
        "ecog.ps": ("0.103", "0.6064", "0.86"),
    }
    for term, (coef, se, p_value) in published.items():
        row = result.term(term)
        assert _close(row.coef, coef) and _close(row.se, se) and _close(row.p_value, p_value)
    assert result.status == "few_events_per_variable"  # 12 events / 3 terms = 4 < 10


def test_lung_survdiff_sex(lung: pd.DataFrame) -> None:
    # [LUNGSD] N 138 / 90, Observed 112 / 53, Expected 91.5817 / 73.4183,
    # Chisq = 10.3 (O-E)^2/V 10.3267, p = 0.00131116.
    result = logrank_test(lung["time"].to_numpy(), lung["event"].to_numpy(), lung["sex"].to_numpy())
    assert result.observed == (112.0, 53.0)
    assert _close(result.expected[0], "91.5817") and _close(result.expected[1], "73.4183")
    assert _close(result.statistic, "10.3267")
    assert _close(result.p_value, "0.00131116")


def test_lung_coxph_sex(lung: pd.DataFrame) -> None:
    # [LUNGCX] n = 228, events = 165; sex coef -0.5310, exp(coef) 0.5880, se 0.1672,
    # z -3.176, p 0.00149.
    result = cox_model(lung[["sex"]].to_numpy(), lung["time"], lung["event"], ["sex"])
    row = result.term("sex")
    assert (result.n, result.events) == (228, 165)
    assert _close(row.coef, "-0.5310") and _close(row.hazard_ratio, "0.5880")
    assert _close(row.se, "0.1672") and _close(row.coef / row.se, "-3.176")
    assert _close(row.p_value, "0.00149")


def test_lung_matches_lifelines_kaplan_meier_log_log(lung: pd.DataFrame) -> None:
    # Not a published number: lifelines' Greenwood log(-log) band as an independent check
    # of the default CI on a larger, tied data set.
    from lifelines import KaplanMeierFitter

    curve = km_curve(lung["time"].to_numpy(), lung["event"].to_numpy())
    fitter = KaplanMeierFitter().fit(lung["time"], lung["event"])
    band = fitter.confidence_interval_survival_function_
    times = curve["time_days"].to_numpy()[1:]
    np.testing.assert_allclose(
        curve["ci_lower"].to_numpy()[1:], band.loc[times].iloc[:, 0].to_numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(
        curve["ci_upper"].to_numpy()[1:], band.loc[times].iloc[:, 1].to_numpy(), rtol=1e-10
    )
