"""Simulated DSMM-like lenalidomide myeloma cohort: the product's embedded demo data.

The data are **simulated**, not patient data: a generative model calibrated so that, in
expectation, it reproduces the published summary results of Krönke et al. (Leukemia
2017) listed in ``REFERENCE_STUDY.md``. ``docs/simulated-cohort.md`` documents every
distribution and parameter and says which are published facts and which assumptions.

>>> from pipelines.simulate import simulate
>>> result = simulate("demo_cohort", patients=60, seed=2017)  # doctest: +SKIP
>>> sorted(result.files)  # doctest: +SKIP
['cytogenetics', 'expression', 'patients']
"""

from __future__ import annotations

from pipelines.simulate.api import SimulationResult, simulate
from pipelines.simulate.defects import DEFECTS, Defect, DefectRecord
from pipelines.simulate.parameters import DEFAULT_PARAMETERS, STUDY_GENES, ModelParameters

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFECTS",
    "STUDY_GENES",
    "Defect",
    "DefectRecord",
    "ModelParameters",
    "SimulationResult",
    "simulate",
]
