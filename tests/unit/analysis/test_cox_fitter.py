"""The numpy Efron Cox equals lifelines' CoxPHFitter (an independent implementation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from analysis.cox_fitter import fit_efron

FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-12}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("p", [1, 3])
def test_estimates_and_schoenfeld_residuals_equal_lifelines(seed: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    n = 80
    x = np.column_stack(
        [rng.normal(size=n)] + [(rng.random(n) < 0.4).astype(float) for _ in range(p - 1)]
    )
    time = np.round(rng.exponential(300, n) * np.exp(-0.5 * x[:, 0]))  # many ties
    event = rng.random(n) < 0.75
    fit = fit_efron(x, time, event)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(p)])
    frame["time"], frame["event"] = time, event.astype(float)
    reference = CoxPHFitter().fit(frame, "time", "event", fit_options=FIT_OPTIONS)
    assert fit.converged
    assert fit.coef == pytest.approx(reference.params_.to_numpy(), rel=1e-7, abs=1e-9)
    assert fit.standard_errors == pytest.approx(reference.standard_errors_.to_numpy(), rel=1e-6)
    assert fit.log_likelihood == pytest.approx(reference.log_likelihood_, rel=1e-10)
    residuals = reference.compute_residuals(frame, kind="schoenfeld")
    expected = residuals.sort_index().to_numpy()
    assert fit.schoenfeld == pytest.approx(expected, abs=1e-7)


def test_separation_is_reported_as_not_converged() -> None:
    x = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([True, True, True, False, False, False])  # no events when x = 1
    assert not fit_efron(x, time, event).converged
