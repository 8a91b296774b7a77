"""The study spec: the statistical analysis plan of one study, as a versioned YAML file.

Every choice that shapes a result — biomarkers, endpoints, groupings, landmarks,
subgroups, covariates, high-risk definition, data cut-off, CI method — is written once
in a reviewed file (``studies/*.yml``) instead of being scattered over CLI options and
constants. The spec feeds three places so that they cannot disagree:

- the dbt build (:meth:`StudySpec.build_settings` → dbt ``vars``),
- the quality gate (:meth:`StudySpec.critical_fields` → ``critical_when_used``),
- the analysis, which records :attr:`StudySpec.sha256` and
  :meth:`StudySpec.to_settings_json` with every result.

A malformed spec raises one :class:`SpecError` listing *every* problem (file, dotted
key, what is allowed), so a reviewer fixes the file in one pass. Every key is
documented in ``docs/study-spec.md``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from analysis.vocabulary import (
    ADJUSTMENT_METHODS,
    CI_METHODS,
    ENDPOINTS,
    FIRTH_MODES,
    GROUPINGS,
    RMST_MODES,
    AdjustmentMethod,
    CIMethod,
    Endpoint,
    FirthMode,
    Grouping,
    RmstMode,
)
from pipelines.build.settings import DEFAULT_HIGH_RISK_ABERRATIONS, BuildSettings
from pipelines.errors import CohortError, ExitCode

SUPPORTED_SPEC_VERSIONS: tuple[int, ...] = (1,)
#: Time axis of the report's Kaplan-Meier figures.
FIGURE_TIME_UNITS: tuple[str, ...] = ("years", "months")
QUARTILES_WITHIN: tuple[str, ...] = ("cohort", "subgroup")
TIME_ORIGINS: tuple[str, ...] = ("diagnosis_date",)
#: Covariates of the multivariable Cox besides aberration columns; each is a column of
#: ``marts.cohort_patients``. cytogenetic_risk enters as a high-vs-standard indicator.
FIXED_COVARIATES: tuple[str, ...] = ("cytogenetic_risk", "iss_stage", "age_at_diagnosis", "sex")
#: Values each categorical mart column can hold (see ``_marts__models.yml``); levels
#: named in ``subgroup_levels`` are checked against these.
KNOWN_LEVELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cytogenetic_risk": ("standard", "high", "unknown"),
        "iss_stage": ("I", "II", "III"),
        "sex": ("F", "M"),
    }
)
ABERRATION_LEVELS: tuple[str, ...] = ("absent", "present", "unknown")
#: Subgroups analysed when ``subgroup_levels`` does not say: the known levels without
#: "unknown" (a subgroup of patients whose status is unknown answers no question).
DEFAULT_SUBGROUP_LEVELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"cytogenetic_risk": ("standard", "high"), "iss_stage": ("I", "II", "III"), "sex": ("F", "M")}
)
DEFAULT_ABERRATION_SUBGROUP_LEVELS: tuple[str, ...] = ("absent", "present")
#: Columns that must never define subgroups: age is continuous, and splitting on the
#: outcome itself conditions on what is being estimated.
NOT_SUBGROUPS: frozenset[str] = frozenset(
    {"age_at_diagnosis", "patient_id", "followup_status"}
    | {f"{endpoint}_{unit}" for endpoint in ENDPOINTS for unit in ("days", "years")}
    | {f"is_{endpoint}_event" for endpoint in ENDPOINTS}
)
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
GENE_NAME = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The reference table of canonical aberration names and their mart columns.
ABERRATION_SEED = (
    Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "canonical_aberrations.csv"
)
YAML_BOOLEAN_HINT = "YAML 1.1 reads yes/no/on/off/true/false as booleans; quote the value"

#: Keys of the ``reference`` mapping (published figures shown beside the run's) and of
#: each of its ``results``.
REFERENCE_KEYS: tuple[str, ...] = ("citation", "landmark_years", "results")
REFERENCE_RESULT_KEYS: tuple[str, ...] = ("biomarker", "endpoint", "low", "high", "p")
#: Keys of the ``scan`` mapping.
SCAN_KEYS: tuple[str, ...] = ("within_subgroups", "top_genes", "fdr")
#: Keys of the ``multiplicity`` mapping and of its ``family``.
MULTIPLICITY_KEYS: tuple[str, ...] = ("family", "methods")
FAMILY_KEYS: tuple[str, ...] = ("biomarkers", "endpoints", "grouping")
REQUIRED_KEYS: tuple[str, ...] = ("study", "spec_version", "biomarkers", "endpoints", "groupings")


class SpecError(CohortError, ValueError):
    """A study spec is malformed; one line per problem, each naming the file and key."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = [f"{source}: {key}: {message}" for key, message in problems]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  - {line}" for line in self.problems)
        super().__init__(f"{source}: the study spec has {count}:\n{lines}")


@dataclass(frozen=True)
class ScanSettings:
    """The genome-wide quartile scan (``scan`` key; docs/study-spec.md).

    ``within_subgroups`` repeats the scan within each level of the spec's subgroups;
    ``top_genes`` genes per endpoint (smallest Q1 vs Q2-Q4 log-rank p) get the full
    single-biomarker analysis when ``biomarkers: all``, and KM panels in the report;
    ``fdr`` is the q-value threshold the report and summary call a discovery.
    """

    within_subgroups: bool = False
    top_genes: int = 6
    fdr: float = 0.05

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MultiplicitySettings:
    """The primary family of tests and the adjustments applied to it (``multiplicity``).

    The family is the whole-cohort log-rank test of ``grouping`` (default Q1 vs Q2-Q4)
    for every biomarker in ``biomarkers`` x endpoint in ``endpoints``; None means every
    biomarker (endpoint) of the spec. Every other p-value of a run is nominal.
    """

    biomarkers: tuple[str, ...] | None = None
    endpoints: tuple[Endpoint, ...] | None = None
    grouping: Grouping = "q1_vs_rest"
    methods: tuple[AdjustmentMethod, ...] = ADJUSTMENT_METHODS

    def settings(self) -> dict[str, Any]:
        return {
            "family": {
                "biomarkers": list(self.biomarkers) if self.biomarkers is not None else None,
                "endpoints": list(self.endpoints) if self.endpoints is not None else None,
                "grouping": self.grouping,
            },
            "methods": list(self.methods),
        }


@dataclass(frozen=True)
class PublishedResult:
    """One published Q1 vs Q2-Q4 result: landmark survival of Q1 (``low``) and Q2-Q4
    (``high``), as fractions, and the published log-rank p, as printed (text)."""

    biomarker: str
    endpoint: str
    low: float
    high: float
    p: str


@dataclass(frozen=True)
class ReferenceSettings:
    """Published figures of the study a spec replicates (``reference``), shown beside the
    run's own numbers in the summary and report, labelled with ``citation``."""

    citation: str
    landmark_years: float
    results: tuple[PublishedResult, ...]

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StudySpec:
    """One study's analysis plan, validated; build it with :func:`load_spec`.

    Direct construction (in tests) skips validation. Field meanings, defaults and
    allowed values: ``docs/study-spec.md``.
    """

    study: str
    biomarkers: tuple[str, ...] | str  # gene names (upper case) or "all"
    spec_version: int = 1
    description: str | None = None
    endpoints: tuple[Endpoint, ...] = ENDPOINTS
    groupings: tuple[Grouping, ...] = ("q1_vs_rest", "quartiles")
    landmarks_years: tuple[float, ...] = (1.0, 3.0, 5.0)
    subgroups: tuple[str, ...] = ()
    #: subgroup -> levels analysed; a subgroup missing here is analysed at every
    #: observed level (the analysis decides). Defaults are filled in by the parser.
    subgroup_levels: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    high_risk_aberrations: tuple[str, ...] = DEFAULT_HIGH_RISK_ABERRATIONS
    adjust_for: tuple[str, ...] = ()
    data_cutoff: dt.date | None = None
    quartiles_within: str = "cohort"
    ci_method: CIMethod = "log-log"
    figure_time_unit: str = "years"
    time_origin: str = "diagnosis_date"
    days_per_year: float = 365.25
    reference_gene: str | None = None
    min_patients_per_gene: int = 20
    #: The genome-wide scan; None = no scan (``biomarkers: all`` always scans).
    scan: ScanSettings | None = None
    #: The primary family for Holm/BH adjustment (docs/study-spec.md, ``multiplicity``).
    multiplicity: MultiplicitySettings = field(default_factory=MultiplicitySettings)
    #: Firth-penalised Cox: "auto" where the MLE does not exist, "always", or "never".
    firth: FirthMode = "auto"
    #: The hazard ratio at which power is reported (results.power).
    target_hr: float = 2.0
    #: Knots of the restricted cubic spline Cox model (Harrell's quantile placement).
    spline_knots: int = 4
    #: Monte-Carlo permutations of the maxstat and cut-point family tests.
    permutations: int = 10_000
    #: Seed of those permutations (recorded with the results).
    permutation_seed: int = 20_170_101
    #: Restricted mean survival time: "auto" where the PH test flags a model, "always",
    #: "never".
    rmst: RmstMode = "always"
    #: RMST horizon in years; None = the largest landmark every group still reaches.
    rmst_horizon_years: float | None = None
    #: Published figures shown beside the run's; None = nothing to compare with.
    reference: ReferenceSettings | None = None
    #: SHA-256 (hex) of the exact bytes of the spec file; "" when not read from a file.
    sha256: str = field(default="", compare=False)
    #: Where the spec came from (for messages); not a setting.
    source: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        # Freeze the mapping so that a "frozen" spec cannot be edited through it.
        levels = {key: tuple(value) for key, value in self.subgroup_levels.items()}
        object.__setattr__(self, "subgroup_levels", MappingProxyType(levels))

    def scan_settings(self) -> ScanSettings | None:
        """The scan to run: the ``scan`` key, or the defaults when ``biomarkers: all``."""
        if self.scan is not None:
            return self.scan
        return ScanSettings() if self.biomarkers == "all" else None

    def levels_for(self, subgroup: str) -> tuple[str, ...] | None:
        """The levels of ``subgroup`` to analyse, or None for every observed level."""
        return self.subgroup_levels.get(subgroup)

    def build_settings(self, base: BuildSettings | None = None) -> BuildSettings:
        """The dbt vars this study needs, so that marts and results use the same rules.

        ``base`` carries build-only settings the spec does not own (Ct range, replicate
        SD threshold, as-of date); the spec overrides cut-off, high-risk list, reference
        gene and days per year.
        """
        return dataclasses.replace(
            base or BuildSettings(),
            data_cutoff_date=self.data_cutoff,
            high_risk_aberrations=self.high_risk_aberrations,
            reference_gene=self.reference_gene,
            days_per_year=self.days_per_year,
        )

    def critical_fields(self) -> tuple[str, ...]:
        """Cohort columns used as covariates or subgroups (sorted), for the quality gate.

        Their completeness becomes critical (``critical_when_used``): a missing ISS
        stage blocks the analysis only when the study adjusts or stratifies by it.
        """
        return tuple(sorted(set(self.adjust_for) | set(self.subgroups)))

    def settings(self) -> dict[str, Any]:
        """Every setting (defaults resolved) as JSON-able values; not sha256 or source.

        Derived from the dataclass fields (:data:`KEYS`), so a new key cannot be
        forgotten here: tuples become lists, dates ISO text, nested settings mappings.
        """
        return {key: _jsonable(getattr(self, key)) for key in KEYS}

    def to_settings_json(self) -> str:
        """Canonical JSON of :meth:`settings` (sorted keys, no spaces), stored with results.

        Two specs that differ only in comments give the same JSON but different
        :attr:`sha256`; results record both.
        """
        return json.dumps(self.settings(), sort_keys=True, separators=(",", ":"))


#: The spec's top-level keys: the fields of :class:`StudySpec` that are settings, in
#: order (the file's hash and path are not keys).
KEYS: tuple[str, ...] = tuple(
    item.name for item in dataclasses.fields(StudySpec) if item.name not in ("sha256", "source")
)


def _jsonable(value: Any) -> Any:
    """A setting as JSON: tuples to lists, dates to ISO text, nested settings to dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.settings() if hasattr(value, "settings") else dataclasses.asdict(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def load_spec(path: Path, *, aberration_columns: Mapping[str, str] | None = None) -> StudySpec:
    """Read and validate a spec file; ``sha256`` is taken over the exact file bytes."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(source, [("(file)", f"cannot be read ({error.strerror})")]) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(source, [("(file)", f"is not UTF-8 text ({error.reason})")]) from error
    return _parse(text, source, hashlib.sha256(raw).hexdigest(), aberration_columns)


def parse_spec(
    text: str, *, source: str, aberration_columns: Mapping[str, str] | None = None
) -> StudySpec:
    """Validate spec text; ``source`` names it in messages, sha256 is over its UTF-8 bytes.

    ``aberration_columns`` (canonical name → mart column) defaults to the
    ``canonical_aberrations`` seed, the one reference table of aberration names.
    """
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _parse(text, source, sha256, aberration_columns)


@functools.cache
def seed_aberration_columns() -> Mapping[str, str]:
    """Canonical aberration → mart column, from the dbt seed (empty if not shipped)."""
    if not ABERRATION_SEED.exists():
        return MappingProxyType({})
    with ABERRATION_SEED.open(encoding="utf-8", newline="") as handle:
        rows = {row["aberration"]: row["column_name"] for row in csv.DictReader(handle)}
    return MappingProxyType(rows)


def _parse(
    text: str, source: str, sha256: str, aberration_columns: Mapping[str, str] | None
) -> StudySpec:
    aberrations = seed_aberration_columns() if aberration_columns is None else aberration_columns
    loader = _Loader(text)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as error:
        raise SpecError(source, [("(yaml)", _yaml_problem(error))]) from error
    finally:
        loader.dispose()
    if document is None:
        raise SpecError(source, [("(document)", "is empty; a spec is a YAML mapping of keys")])
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise SpecError(source, [("(document)", f"must be a YAML mapping of keys, not a {kind}")])
    reader = _Reader(document, loader.duplicate_keys)
    spec = reader.read(aberrations, sha256=sha256, source=source)
    if reader.problems:
        raise SpecError(source, reader.problems)
    assert spec is not None
    return spec


class _Loader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys (PyYAML keeps the last silently)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[str, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool | dt.date):
                continue  # unhashable keys are refused by PyYAML itself
            if key in seen:
                line = key_node.start_mark.line + 1
                self.duplicate_keys.append((str(key), f"appears twice (again on line {line})"))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line: PyYAML's own message spans several and names "<unicode string>"."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"not valid YAML{where}: {problem}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()} ({YAML_BOOLEAN_HINT})"
    if isinstance(value, dt.date):
        return f"date {value.isoformat()} (quote it if it is meant as text)"
    return f"{type(value).__name__} {value!r}"


def _suggest(word: str, choices: Sequence[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class _Reader:
    """Reads one key at a time, collecting every problem instead of stopping at the first."""

    def __init__(self, document: dict[Any, Any], duplicate_keys: list[tuple[str, str]]) -> None:
        self.document = document
        self.problems: list[tuple[str, str]] = list(duplicate_keys)

    def add(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def read(self, aberrations: Mapping[str, str], *, sha256: str, source: str) -> StudySpec | None:
        self._check_keys()
        aberration_columns = tuple(aberrations.values())
        subgroups = self._names("subgroups", self._subgroup_problem)
        values: dict[str, Any] = {
            "study": self._study(),
            "spec_version": self._spec_version(),
            "description": self._optional_text("description"),
            "biomarkers": self._biomarkers(),
            "endpoints": self._choices("endpoints", ENDPOINTS, default=None),
            "groupings": self._choices("groupings", GROUPINGS, default=None),
            "landmarks_years": self._landmarks(),
            "subgroups": subgroups,
            "subgroup_levels": self._subgroup_levels(subgroups, aberration_columns),
            "high_risk_aberrations": self._high_risk(aberrations),
            "adjust_for": self._names(
                "adjust_for", lambda name: self._covariate_problem(name, aberration_columns)
            ),
            "data_cutoff": self._date("data_cutoff"),
            "quartiles_within": self._choice("quartiles_within", QUARTILES_WITHIN, "cohort"),
            "ci_method": self._choice("ci_method", CI_METHODS, "log-log"),
            "figure_time_unit": self._choice("figure_time_unit", FIGURE_TIME_UNITS, "years"),
            "time_origin": self._choice("time_origin", TIME_ORIGINS, "diagnosis_date"),
            "days_per_year": self._positive_number("days_per_year", 365.25),
            "reference_gene": self._reference_gene(),
            "min_patients_per_gene": self._positive_integer("min_patients_per_gene", 20),
            "scan": self._scan(),
            "multiplicity": self._multiplicity(),
            "firth": self._choice("firth", FIRTH_MODES, "auto"),
            "target_hr": self._target_hr(),
            "spline_knots": self._integer_between("spline_knots", 4, 3, 5),
            "permutations": self._integer_between("permutations", 10_000, 100, 1_000_000),
            "permutation_seed": self._integer_between("permutation_seed", 20_170_101, 0, 2**32 - 1),
            "rmst": self._choice("rmst", RMST_MODES, "always"),
            "rmst_horizon_years": self._optional_positive_number("rmst_horizon_years"),
            "reference": self._reference(),
        }
        self._cross_checks(values)
        if self.problems:
            return None
        return StudySpec(**values, sha256=sha256, source=source)

    # -- top level ---------------------------------------------------------------------
    def _check_keys(self) -> None:
        for key in self.document:
            if not isinstance(key, str):
                self.add(str(key), f"key {_describe(key)} is not text; allowed: {', '.join(KEYS)}")
            elif key not in KEYS:
                self.add(key, f"unknown key{_suggest(key, KEYS)}; allowed: {', '.join(KEYS)}")
        for key in REQUIRED_KEYS:
            if self.document.get(key) is None:
                self.add(key, "is required")

    def _present(self, key: str) -> bool:
        """True if the key has a value; null on a defaulted key is refused, not defaulted."""
        if key not in self.document:
            return False
        if self.document[key] is None and key not in REQUIRED_KEYS:
            self.add(key, "is null; remove the key to use the default")
        return self.document[key] is not None

    def _study(self) -> str:
        value = self.document.get("study")
        if value is None:
            return ""
        if not isinstance(value, str) or not STUDY_NAME.match(value):
            self.add("study", f"must be a name of letters, digits, _ . - (got {_describe(value)})")
        return str(value)

    def _spec_version(self) -> int:
        value = self.document.get("spec_version")
        if value is None:
            return 0
        if isinstance(value, bool) or value not in SUPPORTED_SPEC_VERSIONS:
            allowed = ", ".join(map(str, SUPPORTED_SPEC_VERSIONS))
            self.add("spec_version", f"{_describe(value)} is not supported; allowed: {allowed}")
        return value if isinstance(value, int) else 0

    def _optional_text(self, key: str) -> str | None:
        value = self.document.get(key)
        if value is not None and not isinstance(value, str):
            self.add(key, f"must be text (got {_describe(value)})")
        return value if isinstance(value, str) else None

    # -- lists -------------------------------------------------------------------------
    def _list(self, key: str, what: str) -> list[Any] | None:
        """The list at ``key``, or None (problem recorded) if it is not a non-empty list."""
        value = self.document[key]
        if not isinstance(value, list):
            self.add(key, f"must be a list of {what} (got {_describe(value)})")
            return None
        if not value:
            self.add(key, f"is empty; list at least one of {what}")
            return None
        return value

    def _strings(self, key: str, items: list[Any], what: str) -> list[tuple[int, str]]:
        """(index, text) of the items that are text; others and duplicates are problems."""
        seen: set[str] = set()
        result = []
        for index, item in enumerate(items):
            if not isinstance(item, str):
                self.add(f"{key}[{index}]", f"must be {what} (got {_describe(item)})")
            elif item in seen:
                self.add(f"{key}[{index}]", f"'{item}' is listed twice")
            else:
                seen.add(item)
                result.append((index, item))
        return result

    def _choices(
        self, key: str, allowed: Sequence[str], *, default: tuple[str, ...] | None
    ) -> tuple[str, ...]:
        if not self._present(key):
            return default or ()
        items = self._list(key, f"{', '.join(allowed)}")
        if items is None:
            return ()
        result = []
        for index, item in self._strings(key, items, f"one of {', '.join(allowed)}"):
            if item in allowed:
                result.append(item)
            else:
                self.add(
                    f"{key}[{index}]",
                    f"'{item}' is not allowed{_suggest(item, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                )
        return tuple(result)

    def _names(self, key: str, problem_of: Callable[[str], str | None]) -> tuple[str, ...]:
        """A list of cohort column names; ``problem_of(name)`` returns a message or None."""
        if not self._present(key):
            return ()
        items = self._list(key, "cohort column names")
        if items is None:
            return ()
        result = []
        for index, name in self._strings(key, items, "a cohort column name"):
            message = problem_of(name)
            if message:
                self.add(f"{key}[{index}]", message)
            else:
                result.append(name)
        return tuple(result)

    def _subgroup_problem(self, name: str) -> str | None:
        if not COLUMN_NAME.match(name):
            return f"'{name}' is not a column name (lower case, digits, _; e.g. del_17p)"
        if name in NOT_SUBGROUPS:
            return f"'{name}' cannot define subgroups (continuous, an identifier or the outcome)"
        return None

    def _covariate_problem(self, name: str, aberration_columns: Sequence[str]) -> str | None:
        allowed = (*FIXED_COVARIATES, *aberration_columns)
        if name in allowed or (not aberration_columns and COLUMN_NAME.match(name)):
            return None
        return (
            f"'{name}' is not a covariate{_suggest(name, allowed)}; allowed: "
            f"{', '.join(FIXED_COVARIATES)} or an aberration column "
            f"({', '.join(aberration_columns) or 'see the canonical_aberrations seed'})"
        )

    def _biomarkers(self) -> tuple[str, ...] | str:
        value = self.document.get("biomarkers")
        if value is None:
            return ()
        if value == "all":
            return "all"
        if isinstance(value, str):
            self.add("biomarkers", f"must be a list of gene names or 'all' (got '{value}')")
            return ()
        items = self._list("biomarkers", "gene names, or the text 'all'")
        if items is None:
            return ()
        upper = [item.upper() if isinstance(item, str) else item for item in items]
        genes = self._strings("biomarkers", upper, "a gene name")
        for index, gene in genes:
            if not GENE_NAME.match(gene):
                self.add(f"biomarkers[{index}]", f"'{gene}' is not a gene name (A-Z, 0-9, . _ -)")
        return tuple(gene for _, gene in genes)

    def _landmarks(self) -> tuple[float, ...]:
        if not self._present("landmarks_years"):
            return (1.0, 3.0, 5.0)
        items = self._list("landmarks_years", "positive numbers of years")
        if items is None:
            return ()
        result: list[float] = []
        for index, item in enumerate(items):
            where = f"landmarks_years[{index}]"
            if isinstance(item, bool) or not isinstance(item, int | float):
                self.add(where, f"must be a number of years (got {_describe(item)})")
            elif not item > 0:
                self.add(where, f"{item} is not positive; landmarks are years after the origin")
            elif float(item) in result:
                self.add(where, f"{item} is listed twice")
            else:
                result.append(float(item))
        return tuple(sorted(result))

    # -- mappings, dates, numbers ------------------------------------------------------
    def _subgroup_levels(
        self, subgroups: tuple[str, ...], aberration_columns: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        def known_levels(name: str) -> tuple[str, ...] | None:
            if name in KNOWN_LEVELS:
                return KNOWN_LEVELS[name]
            return ABERRATION_LEVELS if name in aberration_columns else None

        levels: dict[str, tuple[str, ...]] = {}
        for name in subgroups:
            if name in DEFAULT_SUBGROUP_LEVELS:
                levels[name] = DEFAULT_SUBGROUP_LEVELS[name]
            elif name in aberration_columns:
                levels[name] = DEFAULT_ABERRATION_SUBGROUP_LEVELS
        if not self._present("subgroup_levels"):
            return levels
        given = self.document["subgroup_levels"]
        raw_subgroups = self.document.get("subgroups")
        listed_raw = raw_subgroups if isinstance(raw_subgroups, list) else []
        requested = {item for item in listed_raw if isinstance(item, str)}
        if not isinstance(given, dict):
            self.add("subgroup_levels", f"must map subgroup -> list of levels ({_describe(given)})")
            return levels
        for name, items in given.items():
            key = f"subgroup_levels.{name}"
            if name in requested and name not in subgroups:
                continue  # the subgroup itself is refused; that problem is already listed
            if name not in subgroups:
                listed = ", ".join(subgroups) or "none"
                self.add(
                    key, f"is not in subgroups{_suggest(str(name), subgroups)}; subgroups: {listed}"
                )
                continue
            if not isinstance(items, list) or not items:
                self.add(key, f"must be a non-empty list of levels (got {_describe(items)})")
                continue
            allowed = known_levels(name)
            chosen = []
            for index, level in self._strings(key, items, "a level (text)"):
                if allowed is not None and level not in allowed:
                    self.add(
                        f"{key}[{index}]",
                        f"'{level}' is not a value of {name}{_suggest(level, allowed)}; "
                        f"allowed: {', '.join(allowed)}",
                    )
                else:
                    chosen.append(level)
            levels[name] = tuple(chosen)
        return levels

    def _high_risk(self, aberrations: Mapping[str, str]) -> tuple[str, ...]:
        if not self._present("high_risk_aberrations"):
            return DEFAULT_HIGH_RISK_ABERRATIONS
        items = self._list("high_risk_aberrations", "canonical aberration names")
        if items is None:
            return ()
        result = []
        for index, name in self._strings("high_risk_aberrations", items, "an aberration name"):
            if aberrations and name not in aberrations:
                self.add(
                    f"high_risk_aberrations[{index}]",
                    f"'{name}' is not a canonical aberration{_suggest(name, list(aberrations))}; "
                    f"allowed: {', '.join(aberrations)} (canonical_aberrations seed)",
                )
            else:
                result.append(name)
        return tuple(result)

    def _date(self, key: str) -> dt.date | None:
        value = self.document.get(key)
        if value is None:  # unset or null: no cut-off beyond each patient's follow-up
            return None
        if isinstance(value, dt.datetime):
            self.add(key, f"must be a date without a time (got {value.isoformat()})")
            return None
        if isinstance(value, dt.date):  # YAML reads an unquoted 2014-11-01 as a date
            return value
        if isinstance(value, str):
            try:
                # fromisoformat alone would also take 20141101 and week dates.
                if not ISO_DATE.match(value):
                    raise ValueError(value)
                return dt.date.fromisoformat(value)
            except ValueError:
                self.add(key, f"'{value}' is not an ISO date (YYYY-MM-DD)")
                return None
        self.add(key, f"must be an ISO date YYYY-MM-DD (got {_describe(value)})")
        return None

    def _choice(self, key: str, allowed: Sequence[str], default: str) -> str:
        if not self._present(key):
            return default
        value = self.document[key]
        if value not in allowed or not isinstance(value, str):
            shown = f"'{value}'" if isinstance(value, str) else _describe(value)
            hint = _suggest(value, allowed) if isinstance(value, str) else ""
            self.add(key, f"{shown} is not allowed{hint}; allowed: {', '.join(allowed)}")
            return default
        return value

    def _positive_number(self, key: str, default: float) -> float:
        if not self._present(key):
            return default
        value = self.document[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            self.add(key, f"must be a positive number (got {_describe(value)})")
            return default
        return float(value)

    def _integer_between(self, key: str, default: int, low: int, high: int) -> int:
        if not self._present(key):
            return default
        value = self.document[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(
                key, f"must be a whole number from {low:,} to {high:,} (got {_describe(value)})"
            )
            return default
        return value

    def _optional_positive_number(self, key: str) -> float | None:
        if not self._present(key):
            return None
        return self._positive_number(key, 1.0)

    def _positive_integer(self, key: str, default: int) -> int:
        if not self._present(key):
            return default
        value = self.document[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.add(key, f"must be a positive whole number (got {_describe(value)})")
            return default
        return value

    def _scan(self) -> ScanSettings | None:
        """``scan: true``, ``scan: false`` or a mapping of :data:`SCAN_KEYS`."""
        if not self._present("scan"):
            return None
        value = self.document["scan"]
        if value is True:
            return ScanSettings()
        if value is False:
            return None
        if not isinstance(value, dict):
            self.add("scan", f"must be true, false or a mapping of {', '.join(SCAN_KEYS)}")
            return None
        settings: dict[str, Any] = {}
        for key, item in value.items():
            where = f"scan.{key}"
            if key not in SCAN_KEYS:
                self.add(where, f"unknown key{_suggest(str(key), SCAN_KEYS)}; allowed: "
                         f"{', '.join(SCAN_KEYS)}")  # fmt: skip
            elif key == "within_subgroups" and not isinstance(item, bool):
                self.add(where, f"must be true or false (got {_describe(item)})")
            elif key == "top_genes" and (
                isinstance(item, bool) or not isinstance(item, int) or item < 0
            ):
                self.add(where, f"must be a whole number >= 0 (got {_describe(item)})")
            elif key == "fdr" and (
                isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item < 1
            ):
                self.add(where, f"must be a number between 0 and 1 (got {_describe(item)})")
            else:
                settings[key] = float(item) if key == "fdr" else item
        return ScanSettings(**settings)

    def _multiplicity(self) -> MultiplicitySettings:
        """A mapping of :data:`MULTIPLICITY_KEYS`; its ``family`` a mapping of
        :data:`FAMILY_KEYS`. Names are checked against the spec in :meth:`_cross_checks`."""
        if not self._present("multiplicity"):
            return MultiplicitySettings()
        value = self.document["multiplicity"]
        if not isinstance(value, dict):
            self.add("multiplicity", f"must be a mapping of {', '.join(MULTIPLICITY_KEYS)}")
            return MultiplicitySettings()
        settings: dict[str, Any] = {}
        for key, item in value.items():
            if key not in MULTIPLICITY_KEYS:
                self.add(
                    f"multiplicity.{key}",
                    f"unknown key{_suggest(str(key), MULTIPLICITY_KEYS)}"
                    f"; allowed: {', '.join(MULTIPLICITY_KEYS)}",
                )
            elif key == "methods":
                methods = self._method_list(item)
                if methods is not None:
                    settings["methods"] = methods
            else:
                settings.update(self._family(item))
        return MultiplicitySettings(**settings)

    def _method_list(self, item: Any) -> tuple[str, ...] | None:
        where = "multiplicity.methods"
        if not isinstance(item, list) or not item:
            self.add(where, f"must be a non-empty list of {', '.join(ADJUSTMENT_METHODS)}")
            return None
        wrong = [m for m in item if not isinstance(m, str) or m not in ADJUSTMENT_METHODS]
        for method in wrong:
            hint = _suggest(method, ADJUSTMENT_METHODS) if isinstance(method, str) else ""
            self.add(
                where,
                f"{_describe(method)} is not allowed{hint}; allowed: "
                f"{', '.join(ADJUSTMENT_METHODS)}",
            )
        if len(set(item)) < len(item):
            self.add(where, "lists a method twice")
        return None if wrong else tuple(dict.fromkeys(item))

    def _family(self, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            self.add("multiplicity.family", f"must be a mapping of {', '.join(FAMILY_KEYS)}")
            return {}
        family: dict[str, Any] = {}
        for key, names in item.items():
            where = f"multiplicity.family.{key}"
            if key not in FAMILY_KEYS:
                self.add(
                    where,
                    f"unknown key{_suggest(str(key), FAMILY_KEYS)}; allowed: "
                    f"{', '.join(FAMILY_KEYS)}",
                )
            elif key == "grouping":
                if names not in GROUPINGS:
                    self.add(
                        where, f"{_describe(names)} is not allowed; allowed: {', '.join(GROUPINGS)}"
                    )
                else:
                    family["grouping"] = names
            elif (
                not isinstance(names, list)
                or not names
                or not all(isinstance(name, str) for name in names)
            ):
                self.add(where, "must be a non-empty list of names")
            else:
                family[key] = tuple(n.upper() if key == "biomarkers" else n for n in names)
        return family

    def _reference(self) -> ReferenceSettings | None:
        """``citation`` (text), ``landmark_years`` (> 0) and ``results``: a list of
        mappings of :data:`REFERENCE_RESULT_KEYS` (``low``/``high`` fractions in [0, 1],
        ``p`` as printed, quoted)."""
        if not self._present("reference"):
            return None
        value = self.document["reference"]
        if not isinstance(value, dict):
            self.add("reference", f"must be a mapping of {', '.join(REFERENCE_KEYS)}")
            return None
        for key in value:
            if key not in REFERENCE_KEYS:
                self.add(
                    f"reference.{key}",
                    f"unknown key{_suggest(str(key), REFERENCE_KEYS)}; allowed: "
                    f"{', '.join(REFERENCE_KEYS)}",
                )
        citation, years, items = (value.get(k) for k in REFERENCE_KEYS)
        problems = len(self.problems)
        if not isinstance(citation, str) or not citation.strip():
            self.add("reference.citation", "must be text naming the publication")
        if isinstance(years, bool) or not isinstance(years, int | float) or not years > 0:
            self.add(
                "reference.landmark_years", f"must be a positive number (got {_describe(years)})"
            )
        if not isinstance(items, list) or not items:
            self.add("reference.results", "must be a non-empty list of published results")
            items = []
        results = [self._published(index, item) for index, item in enumerate(items)]
        if len(self.problems) > problems or any(r is None for r in results):
            return None
        return ReferenceSettings(citation.strip(), float(years), tuple(results))  # type: ignore[arg-type, union-attr]

    def _published(self, index: int, item: Any) -> PublishedResult | None:
        where = f"reference.results[{index}]"
        if not isinstance(item, dict) or set(item) != set(REFERENCE_RESULT_KEYS):
            self.add(where, f"must be a mapping of exactly {', '.join(REFERENCE_RESULT_KEYS)}")
            return None
        fractions = [item[k] for k in ("low", "high")]
        if any(
            isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1
            for v in fractions
        ):
            self.add(where, "low and high must be survival fractions between 0 and 1")
            return None
        if not isinstance(item["p"], str) or not isinstance(item["biomarker"], str):
            self.add(where, "biomarker and p must be text (quote p: '0.01')")
            return None
        endpoint = item["endpoint"]
        if endpoint not in ENDPOINTS:
            self.add(where, f"endpoint must be one of {', '.join(ENDPOINTS)}")
            return None
        return PublishedResult(
            item["biomarker"].upper(), endpoint, float(item["low"]), float(item["high"]), item["p"]
        )

    def _target_hr(self) -> float:
        if not self._present("target_hr"):
            return 2.0
        value = self.document["target_hr"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < value < 1e6
            or value == 1
        ):
            self.add(
                "target_hr",
                f"must be a positive hazard ratio other than 1, e.g. 2.0 (got {_describe(value)})",
            )
            return 2.0
        return float(value)

    def _reference_gene(self) -> str | None:
        value = self._optional_text("reference_gene")
        if value is None:
            return None
        if not GENE_NAME.match(value.upper()):
            self.add("reference_gene", f"'{value}' is not a gene name (A-Z, 0-9, . _ -)")
        return value.upper()

    def _check_family(self, values: Mapping[str, Any]) -> None:
        """The primary family names only biomarkers, endpoints and a grouping the spec
        analyses: a family of tests that are never run would adjust nothing."""
        family: MultiplicitySettings = values["multiplicity"]
        biomarkers = values["biomarkers"]
        if family.biomarkers is not None:
            if biomarkers == "all":
                self.add(
                    "multiplicity.family.biomarkers",
                    "with biomarkers: all the genome-"
                    "wide scan's BH q-values are the adjusted ones; remove this key",
                )
            elif isinstance(biomarkers, tuple):
                for name in family.biomarkers:
                    if name not in biomarkers:
                        self.add(
                            "multiplicity.family.biomarkers",
                            f"'{name}' is not one of the spec's biomarkers",
                        )
        endpoints = values["endpoints"] or ENDPOINTS
        for name in family.endpoints or ():
            if name not in endpoints:
                self.add(
                    "multiplicity.family.endpoints",
                    f"'{name}' is not one of the spec's endpoints ({', '.join(endpoints)})",
                )
        groupings = values["groupings"] or ()
        if groupings and family.grouping not in groupings:
            self.add(
                "multiplicity.family.grouping",
                f"'{family.grouping}' is not one of the spec's groupings ({', '.join(groupings)})",
            )

    def _cross_checks(self, values: Mapping[str, Any]) -> None:
        """Rules that involve two keys."""
        scan = values["scan"]
        if scan is not None and scan.within_subgroups and not values["subgroups"]:
            self.add("scan.within_subgroups", "needs subgroups; list them in subgroups")
        self._check_family(values)
        if values["quartiles_within"] == "subgroup" and not values["subgroups"]:
            self.add("quartiles_within", "'subgroup' needs subgroups; list them or use 'cohort'")
        gene = values["reference_gene"]
        if gene and not isinstance(values["biomarkers"], str) and gene in values["biomarkers"]:
            self.add(
                "reference_gene",
                f"'{gene}' is also a biomarker; the reference gene normalises the others "
                "and is not analysed itself",
            )
