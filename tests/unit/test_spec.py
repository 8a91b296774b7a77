"""Study specs: the shipped ones load, defaults hold, and every bad key is named precisely."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.build.settings import BuildSettings
from pipelines.spec import SpecError, StudySpec, load_spec, parse_spec

STUDIES_DIR = Path(__file__).resolve().parents[2] / "studies"

MINIMAL = """\
study: tiny
spec_version: 1
biomarkers: [ikzf1]
endpoints: [pfs]
groupings: [q1_vs_rest]
"""


def problems_of(text: str, source: str = "bad.yml") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source=source)
    return caught.value.problems


def only_problem(extra: str) -> str:
    found = problems_of(MINIMAL + extra)
    assert len(found) == 1, found
    return found[0]


def test_reference_study_spec_loads_as_published():
    spec = load_spec(STUDIES_DIR / "dsmm_ikzf1.yml")
    assert spec.study == "dsmm_ikzf1"
    assert spec.biomarkers == ("IKZF1", "IKZF3", "CRBN", "BSG")
    assert spec.endpoints == ("pfs", "os")
    assert spec.groupings == ("q1_vs_rest", "quartiles")
    assert 3.0 in spec.landmarks_years
    assert spec.levels_for("cytogenetic_risk") == ("standard", "high")
    assert spec.high_risk_aberrations == ("del(17p)", "t(4;14)", "t(14;16)")
    assert spec.adjust_for == ("cytogenetic_risk",)
    assert spec.data_cutoff is None
    assert (spec.quartiles_within, spec.ci_method) == ("cohort", "log-log")
    assert len(spec.sha256) == 64


def test_uams_spec_loads_with_its_real_cytogenetic_subgroup():
    spec = load_spec(STUDIES_DIR / "uams_tt_markers.yml")
    assert spec.biomarkers == ("B2M", "LDH", "ALB", "CRP")
    assert set(spec.endpoints) == {"os", "pfs"}
    assert spec.subgroups == ("abnormal_metaphase_karyotype",)
    assert spec.levels_for("abnormal_metaphase_karyotype") == ("absent", "present")
    assert spec.critical_fields() == ("abnormal_metaphase_karyotype",)


def test_defaults_of_a_minimal_spec():
    spec = parse_spec(MINIMAL, source="tiny.yml")
    assert spec.biomarkers == ("IKZF1",)  # upper-cased
    assert spec.landmarks_years == (1.0, 3.0, 5.0)
    assert spec.subgroups == spec.adjust_for == ()
    assert spec.high_risk_aberrations == ("del(17p)", "t(4;14)", "t(14;16)")
    assert spec.data_cutoff is None
    assert spec.quartiles_within == "cohort"
    assert spec.ci_method == "log-log"
    assert spec.time_origin == "diagnosis_date"
    assert spec.days_per_year == 365.25
    assert spec.reference_gene is None
    assert spec.min_patients_per_gene == 20
    assert spec.description is None
    assert spec.critical_fields() == ()


def test_default_subgroup_levels_leave_unknown_out():
    spec = parse_spec(MINIMAL + "subgroups: [cytogenetic_risk, del_17p, treatment]\n", source="s")
    assert spec.levels_for("cytogenetic_risk") == ("standard", "high")
    assert spec.levels_for("del_17p") == ("absent", "present")
    assert spec.levels_for("treatment") is None  # free vocabulary: every observed level


def test_biomarkers_all_and_yaml_dates_are_accepted():
    text = MINIMAL.replace("[ikzf1]", "all") + "data_cutoff: 2014-11-01\n"
    spec = parse_spec(text, source="s")
    assert spec.biomarkers == "all"
    assert spec.data_cutoff == dt.date(2014, 11, 1)
    quoted = parse_spec(MINIMAL + 'data_cutoff: "2014-11-01"\n', source="s")
    assert quoted.data_cutoff == dt.date(2014, 11, 1)


def test_sha256_is_over_the_exact_bytes(tmp_path: Path):
    first = tmp_path / "a.yml"
    first.write_text(MINIMAL, encoding="utf-8")
    second = tmp_path / "b.yml"
    second.write_text(MINIMAL + "# a comment\n", encoding="utf-8")
    spec_a, spec_b = load_spec(first), load_spec(second)
    assert spec_a.sha256 != spec_b.sha256
    assert spec_a.sha256 == parse_spec(MINIMAL, source="x").sha256
    # Comments change the hash, not the settings.
    assert spec_a.to_settings_json() == spec_b.to_settings_json()


def test_build_settings_carry_the_study_rules_to_dbt():
    text = MINIMAL + (
        "data_cutoff: 2015-06-30\nhigh_risk_aberrations: ['del(17p)', 'gain(1q21)']\n"
        "reference_gene: gapdh\n"
    )
    spec = parse_spec(text, source="s")
    base = BuildSettings(ct_max=40.0)
    settings = spec.build_settings(base)
    assert settings.ct_max == 40.0  # build-only settings are kept
    dbt_vars = settings.to_dbt_vars()
    assert dbt_vars["data_cutoff_date"] == "2015-06-30"
    assert dbt_vars["high_risk_aberrations"] == ["del(17p)", "gain(1q21)"]
    assert dbt_vars["reference_gene"] == "GAPDH"
    assert dbt_vars["days_per_year"] == 365.25


def test_critical_fields_are_the_covariate_and_subgroup_columns():
    text = (
        MINIMAL + "subgroups: [cytogenetic_risk, sex]\nadjust_for: [age_at_diagnosis, iss_stage]\n"
    )
    spec = parse_spec(text, source="s")
    assert spec.critical_fields() == ("age_at_diagnosis", "cytogenetic_risk", "iss_stage", "sex")


def test_settings_json_is_canonical_and_complete():
    spec = parse_spec(MINIMAL, source="s")
    settings = json.loads(spec.to_settings_json())
    assert set(settings) == {
        field for field in StudySpec.__dataclass_fields__ if field not in {"sha256", "source"}
    }
    assert spec.to_settings_json() == json.dumps(settings, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ("landmark_years: [1]\n", "landmark_years", "did you mean 'landmarks_years'"),
        ("ci_method: loglog\n", "ci_method", "did you mean 'log-log'"),
        ("quartiles_within: no\n", "quartiles_within", "YAML 1.1"),
        ("landmarks_years: [1, -3]\n", "landmarks_years[1]", "not positive"),
        ("landmarks_years: ['3']\n", "landmarks_years[0]", "number of years"),
        ("landmarks_years: []\n", "landmarks_years", "is empty"),
        ("data_cutoff: 31.12.2015\n", "data_cutoff", "ISO date"),
        ("data_cutoff: 20151231\n", "data_cutoff", "ISO date"),
        ("data_cutoff: 2015-12-31 10:00:00\n", "data_cutoff", "without a time"),
        ("quartiles_within: subgroup\n", "quartiles_within", "needs subgroups"),
        ("subgroups: [Sex]\n", "subgroups[0]", "not a column name"),
        ("subgroups: [age_at_diagnosis]\n", "subgroups[0]", "cannot define subgroups"),
        (
            "subgroups: [sex]\nsubgroup_levels: {iss_stage: [I]}\n",
            "subgroup_levels.iss_stage",
            "not in subgroups",
        ),
        (
            "subgroups: [cytogenetic_risk]\nsubgroup_levels: {cytogenetic_risk: [hgh]}\n",
            "subgroup_levels.cytogenetic_risk[0]",
            "did you mean 'high'",
        ),
        ("adjust_for: [cytogenetics_risk]\n", "adjust_for[0]", "did you mean 'cytogenetic_risk'"),
        ("high_risk_aberrations: [del17p]\n", "high_risk_aberrations[0]", "'del(17p)'"),
        ("days_per_year: 0\n", "days_per_year", "positive number"),
        ("min_patients_per_gene: 2.5\n", "min_patients_per_gene", "positive whole number"),
        ("time_origin: randomisation\n", "time_origin", "allowed: diagnosis_date"),
        ("reference_gene: IKZF1\n", "reference_gene", "also a biomarker"),
        ("ci_method: null\n", "ci_method", "remove the key"),
        ("description: [a]\n", "description", "must be text"),
        ("firth: sometimes\n", "firth", "allowed: auto, always, never"),
        ("target_hr: 1\n", "target_hr", "other than 1"),
        ("target_hr: -2\n", "target_hr", "positive hazard ratio"),
        ("target_hr: yes\n", "target_hr", "positive hazard ratio"),
        ("multiplicity: holm\n", "multiplicity", "must be a mapping"),
        ("multiplicity: {methods: [hochberg]}\n", "multiplicity.methods", "allowed: holm, bh"),
        ("multiplicity: {methods: []}\n", "multiplicity.methods", "non-empty list"),
        ("multiplicity: {method: [holm]}\n", "multiplicity.method", "did you mean 'methods'"),
        (
            "multiplicity: {family: {biomarkers: [CRBN]}}\n",
            "multiplicity.family.biomarkers",
            "'CRBN' is not one of the spec's biomarkers",
        ),
        (
            "multiplicity: {family: {endpoints: [os]}}\n",
            "multiplicity.family.endpoints",
            "'os' is not one of the spec's endpoints",
        ),
        (
            "multiplicity: {family: {grouping: quartiles}}\n",
            "multiplicity.family.grouping",
            "not one of the spec's groupings",
        ),
        ("spline_knots: 7\n", "spline_knots", "from 3 to 5"),
        ("permutations: 0\n", "permutations", "from 100 to 1,000,000"),
        ("rmst_horizon_years: -1\n", "rmst_horizon_years", "positive number"),
        ("rmst: sometimes\n", "rmst", "allowed: auto, always, never"),
        ("reference: yes\n", "reference", "must be a mapping"),
        (
            "reference: {citation: X, landmark_years: 3, results: []}\n",
            "reference.results",
            "non-empty list",
        ),
        (
            "reference: {citation: X, landmark_years: 3, results: "
            "[{biomarker: IKZF1, endpoint: pfs, low: 86, high: 51, p: '0.01'}]}\n",
            "reference.results[0]",
            "fractions between 0 and 1",
        ),
        (
            "reference: {citation: X, landmark_years: 3, results: "
            "[{biomarker: IKZF1, endpoint: efs, low: 0.86, high: 0.51, p: '0.01'}]}\n",
            "reference.results[0]",
            "endpoint must be one of pfs, os",
        ),
        (
            "reference: {citation: X, landmark_years: 3, doi: y, results: "
            "[{biomarker: IKZF1, endpoint: pfs, low: 0.86, high: 0.51, p: '0.01'}]}\n",
            "reference.doi",
            "allowed: citation, landmark_years, results",
        ),
        (
            "multiplicity: {family: {test: trend}}\n",
            "multiplicity.family.test",
            "allowed: biomarkers, endpoints, grouping",
        ),
    ],
)
def test_each_bad_setting_is_named_with_file_and_key(extra: str, key: str, fragment: str):
    problem = only_problem(extra)
    assert problem.startswith(f"bad.yml: {key}: ")
    assert fragment in problem


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ("[pfs]", "[pfs, efs]", "endpoints[1]", "allowed: pfs, os"),
        ("[pfs]", "[pfs, pfs]", "endpoints[1]", "listed twice"),
        ("[q1_vs_rest]", "[]", "groupings", "is empty"),
        ("[q1_vs_rest]", "[quintiles]", "groupings[0]", "did you mean 'quartiles'"),
        ("[ikzf1]", "[ikzf1, IKZF1]", "biomarkers[1]", "listed twice"),
        ("[ikzf1]", "IKZF1", "biomarkers", "list of gene names or 'all'"),
        ("spec_version: 1", "spec_version: 2", "spec_version", "allowed: 1"),
        ("spec_version: 1", "spec_version: '1'", "spec_version", "allowed: 1"),
        ("spec_version: 1\n", "", "spec_version", "is required"),
        ("study: tiny", "study: my study", "study", "letters, digits"),
    ],
)
def test_bad_required_keys_are_named(old: str, new: str, key: str, fragment: str):
    found = problems_of(MINIMAL.replace(old, new))
    assert len(found) == 1, found
    assert found[0].startswith(f"bad.yml: {key}: ")
    assert fragment in found[0]


def test_all_problems_are_reported_together_one_line_each():
    text = MINIMAL.replace("[pfs]", "[pfss]") + "ci_method: plain\nci_method: log\nfoo: 1\noff: 2\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="studies/x.yml")
    message = str(caught.value)
    lines = message.splitlines()
    assert lines[0] == "studies/x.yml: the study spec has 4 problems:"
    assert len(lines) == 5
    assert all(line.startswith("  - studies/x.yml: ") for line in lines[1:])
    assert "appears twice" in message  # PyYAML alone would keep the last silently
    assert "endpoints[0]" in message and "foo: unknown key" in message
    assert "YAML 1.1" in message  # `off:` is read as the boolean false


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("- study\n", "must be a YAML mapping"),
        ("study: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_documents_that_are_not_a_mapping_are_refused(text: str, fragment: str):
    (problem,) = problems_of(text)
    assert problem.startswith("bad.yml: (")
    assert fragment in problem


def test_unreadable_and_non_utf8_files_name_the_file(tmp_path: Path):
    with pytest.raises(SpecError, match=r"missing\.yml"):
        load_spec(tmp_path / "missing.yml")
    latin = tmp_path / "latin.yml"
    latin.write_bytes("study: Kr\u00f6nke\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin\.yml.*not UTF-8"):
        load_spec(latin)


def test_spec_is_frozen():
    spec = parse_spec(MINIMAL + "subgroups: [sex]\n", source="s")
    with pytest.raises(AttributeError):
        spec.study = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.subgroup_levels["sex"] = ("M",)  # type: ignore[index]


def test_figure_time_unit_is_a_checked_setting() -> None:
    from pipelines.spec import SpecError, parse_spec

    base = (
        "study: s\nspec_version: 1\nbiomarkers: [IKZF1]\nendpoints: [pfs]\n"
        "groupings: [q1_vs_rest]\n"
    )
    assert parse_spec(base, source="a.yml").figure_time_unit == "years"
    assert (
        parse_spec(base + "figure_time_unit: months\n", source="a.yml").figure_time_unit == "months"
    )
    with pytest.raises(SpecError, match="figure_time_unit"):
        parse_spec(base + "figure_time_unit: weeks\n", source="a.yml")


def test_multiplicity_firth_and_target_hr_defaults_and_values() -> None:
    """The primary family defaults to every biomarker x endpoint of the spec, Q1 vs
    Q2-Q4; a declared family is kept as written (names upper-cased like biomarkers)."""
    spec = parse_spec(MINIMAL, source="s")
    assert (spec.firth, spec.target_hr) == ("auto", 2.0)
    assert spec.multiplicity.methods == ("holm", "bh")
    assert spec.multiplicity.biomarkers is None and spec.multiplicity.grouping == "q1_vs_rest"
    declared = parse_spec(
        MINIMAL.replace("[ikzf1]", "[ikzf1, crbn]")
        + "firth: always\ntarget_hr: 1.5\n"
        + "multiplicity: {family: {biomarkers: [ikzf1]}, methods: [holm]}\n",
        source="s",
    )
    assert (declared.firth, declared.target_hr) == ("always", 1.5)
    assert declared.multiplicity.biomarkers == ("IKZF1",)
    assert declared.multiplicity.methods == ("holm",)
    settings = json.loads(declared.to_settings_json())
    assert settings["multiplicity"]["family"]["biomarkers"] == ["IKZF1"]
