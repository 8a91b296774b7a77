"""The product's vocabulary: every grouping, endpoint, method, test and status name, once.

The role polars' ``_typing.py`` plays: the one light module (standard library only, so
the spec reader and the CLI can import it without numpy or pandas) where each name a
user sees in a spec, a result table or a report is spelled. Everything else imports the
``Literal`` aliases and tuples from here; a new grouping or status is added here first.
Meanings: docs/statistics.md ("Status values") and docs/results.md.
"""

from __future__ import annotations

from typing import Literal, get_args

# -- what a study asks ----------------------------------------------------------------------

Endpoint = Literal["pfs", "os"]
#: IMWG endpoints: PFS = progression or death, OS = death.
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)

Grouping = Literal["q1_vs_rest", "quartiles", "median", "tertiles"]
#: How patients are grouped by a biomarker's value (analysis.groups holds the cut points).
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)

CIMethod = Literal["log-log", "log", "plain"]
#: Scales of the Kaplan-Meier pointwise interval (R ``survfit``'s ``conf.type``).
CI_METHODS: tuple[CIMethod, ...] = get_args(CIMethod)

FirthMode = Literal["auto", "always", "never"]
#: When Firth-penalised Cox rows are added (spec key ``firth``).
FIRTH_MODES: tuple[FirthMode, ...] = get_args(FirthMode)

RmstMode = Literal["auto", "always", "never"]
#: When restricted mean survival times are reported (spec key ``rmst``): ``auto`` where a
#: proportional-hazards test flags the model.
RMST_MODES: tuple[RmstMode, ...] = get_args(RmstMode)

ContinuousModel = Literal["per_unit", "per_sd", "rcs"]
#: ``results.continuous_models.model``: Cox on the value per unit, per SD, and a
#: restricted cubic spline.
CONTINUOUS_MODELS: tuple[ContinuousModel, ...] = get_args(ContinuousModel)

RmstMeasure = Literal["rmst", "difference", "ratio"]
#: What a ``results.rmst`` row holds: one group's RMST, or a difference or ratio.
RMST_MEASURES: tuple[RmstMeasure, ...] = get_args(RmstMeasure)

HorizonSource = Literal["given", "landmark", "none"]
#: Where the RMST horizon came from: the spec, the landmark rule, or nowhere.
HORIZON_SOURCES: tuple[HorizonSource, ...] = get_args(HorizonSource)

CutpointMethod = Literal["maxstat"]
CutpointChoice = Literal["q1_vs_rest", "quartiles", "median", "tertiles", "maxstat"]
#: The cut-point choices of the ledger: every grouping, and the maximally selected cut.
CUTPOINT_CHOICES: tuple[CutpointChoice, ...] = get_args(CutpointChoice)

AdjustmentMethod = Literal["holm", "bh"]
#: Multiple-testing adjustments of the primary family (R ``p.adjust`` "holm" and "BH").
ADJUSTMENT_METHODS: tuple[AdjustmentMethod, ...] = get_args(AdjustmentMethod)

# -- what a run stores ------------------------------------------------------------------------

TestName = Literal["logrank", "logrank_trend"]
#: ``results.logrank_tests.test``.
TEST_NAMES: tuple[TestName, ...] = get_args(TestName)

CoxModel = Literal["univariable", "adjusted", "interaction"]
#: ``results.cox_models.model``.
COX_MODELS: tuple[CoxModel, ...] = get_args(CoxModel)

CoxMethod = Literal["mle", "firth"]
#: ``results.cox_models.method``: maximum partial likelihood, or Firth-penalised.
COX_METHODS: tuple[CoxMethod, ...] = get_args(CoxMethod)

Family = Literal["primary", "secondary"]
#: ``results.logrank_tests.family``: in the spec's multiplicity family or not.
FAMILIES: tuple[Family, ...] = get_args(Family)

# -- statuses: why a number is (not) there, most serious first ------------------------------

GroupingStatus = Literal["too_few_values", "single_group", "ties_at_cutpoint", "ok"]
#: analysis.groups.GroupAssignment.status.
GROUPING_STATUSES: tuple[GroupingStatus, ...] = get_args(GroupingStatus)

CIStatus = Literal["empty_group", "beyond_followup", "survival_zero", "no_events", "ok"]
#: ``km_landmarks.ci_status``: why a landmark's interval is NULL (``no_events``: S = 1 and
#: the interval would collapse to the point 1).
CI_STATUSES: tuple[CIStatus, ...] = get_args(CIStatus)

Status = Literal[
    "too_few_values",
    "empty_group",
    "single_group",
    "no_events",
    "no_events_in_group",
    "did_not_converge",
    "few_events_per_variable",
    "ok",
]
#: Statuses of group summaries, tests and models, **in order of precedence** (the most
#: serious condition wins): the genome-wide scan assigns them in this order, as the
#: single-biomarker path (analysis.endpoint, analysis.cox) checks them.
STATUSES: tuple[Status, ...] = get_args(Status)

RmstStatus = Literal["empty_group", "beyond_followup", "survival_zero", "no_events", "ok"]
#: ``results.rmst.status``, most serious first (a contrast takes its groups' worst).
RMST_STATUSES: tuple[RmstStatus, ...] = get_args(RmstStatus)

CutpointStatus = Literal["too_few_values", "single_group", "no_events", "ok"]
#: ``results.cutpoint_tests.status``: a subset of :data:`STATUSES`, in its order.
CUTPOINT_STATUSES: tuple[CutpointStatus, ...] = get_args(CutpointStatus)

# -- shared constants -----------------------------------------------------------------------

#: Two-sided 95% normal quantile, as lifelines (alpha 0.05) and R's ``confint`` use.
WALD_Z = 1.959963984540054
#: Events per variable below which a fitted Cox model is flagged (Peduzzi et al. 1996).
MIN_EVENTS_PER_VARIABLE = 10
#: A proportional-hazards test p below this flags a model: a warning in the report and,
#: with ``rmst: auto``, the trigger for restricted mean survival times.
PH_ALPHA = 0.05
