"""The genome-wide scan inside `cohort analyze`: warehouse in, `results.gene_scan` out.

The statistics core is checked against lifelines in tests/unit/analysis/test_scan.py;
here the scan read through the warehouse must give, for the study genes, exactly the
numbers of the single-biomarker path stored in the same run, and `biomarkers: all`
must hand the scan's top genes to the full analysis.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.analyze.run import analyze
from pipelines.build import build_cohort
from pipelines.ingest import ingest
from pipelines.report.run import write_report
from pipelines.simulate import simulate
from pipelines.spec import load_spec, parse_spec
from pipelines.validate.gate import run_gate
from tests.conftest import FIXED_LOAD_TIME, REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DSMM_SPEC = REPO_ROOT / "studies" / "dsmm_ikzf1.yml"
BACKGROUND = 120


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("scan")
    simulate(work / "input", patients=60, seed=2017, background_genes=BACKGROUND)
    spec = load_spec(DSMM_SPEC)
    db_path = work / "scan.duckdb"
    ingest(work / "input", db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert build_cohort(db_path, settings=spec.build_settings()).success
    run_gate(db_path, code_version="test", critical_fields=spec.critical_fields(),
             report_dir=work / "reports")  # fmt: skip
    result = analyze(db_path, spec, code_version="test")
    return db_path, result


def query(db_path: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, parameters or []).fetchall()


def test_every_gene_and_endpoint_is_scanned_once(scanned):
    db_path, result = scanned
    [(genes, rows, endpoints)] = query(
        db_path,
        "select count(distinct gene), count(*), count(distinct endpoint) "
        "from results.gene_scan where run_id = ?",
        [result.run_id],
    )
    assert genes == 4 + BACKGROUND and endpoints == 2 and rows == genes * 2


def test_scan_equals_the_single_biomarker_path_for_the_study_genes(scanned):
    db_path, result = scanned
    for gene in ("IKZF1", "IKZF3", "CRBN", "BSG"):
        for endpoint in ("pfs", "os"):
            [scan] = query(
                db_path,
                "select n, n_q1, logrank_statistic, logrank_p, quartiles_statistic, "
                "quartiles_p, trend_statistic, trend_p, hazard_ratio, hr_ci_lower, hr_ci_upper, "
                "cox_p, status from results.gene_scan where run_id = ? and gene = ? "
                "and endpoint = ? and subgroup = 'all'",
                [result.run_id, gene, endpoint],
            )
            [(n_q1,)] = query(
                db_path,
                "select n from results.group_summary where run_id = ? and biomarker = ? and "
                "endpoint = ? and grouping = 'q1_vs_rest' and subgroup = 'all' "
                "and group_label = 'Q1'",
                [result.run_id, gene, endpoint],
            )
            tests = dict(
                ((grouping, test), (statistic, p))
                for grouping, test, statistic, p in query(
                    db_path,
                    "select grouping, test, statistic, p_value from results.logrank_tests "
                    "where run_id = ? and biomarker = ? and endpoint = ? and subgroup = 'all'",
                    [result.run_id, gene, endpoint],
                )
            )
            [(hr, lower, upper, p, status)] = query(
                db_path,
                "select hazard_ratio, ci_lower, ci_upper, p_value, status from results.cox_models "
                "where run_id = ? and biomarker = ? and endpoint = ? and subgroup = 'all' "
                "and grouping = 'q1_vs_rest' and model = 'univariable' and method = 'mle'",
                [result.run_id, gene, endpoint],
            )
            assert scan[1] == n_q1
            assert scan[2:4] == pytest.approx(tests[("q1_vs_rest", "logrank")], rel=1e-8)
            assert scan[4:6] == pytest.approx(tests[("quartiles", "logrank")], rel=1e-8)
            assert scan[6:8] == pytest.approx(tests[("quartiles", "logrank_trend")], rel=1e-8)
            if status == "ok":
                assert scan[8:12] == pytest.approx((hr, lower, upper, p), rel=1e-6)
            else:
                assert scan[8] is None and scan[12] == status


def test_q_values_are_benjamini_hochberg_over_the_genes_of_each_endpoint(scanned):
    db_path, result = scanned
    for endpoint in ("pfs", "os"):
        ordered = query(
            db_path,
            "select logrank_p, logrank_q from results.gene_scan where run_id = ? and "
            "endpoint = ? and logrank_p is not null order by logrank_p desc",
            [result.run_id, endpoint],
        )
        m, running = len(ordered), 1.0
        for rank, (p, q) in zip(range(len(ordered), 0, -1), ordered, strict=True):
            running = min(running, p * m / rank)
            assert q == pytest.approx(running, rel=1e-12)


def test_background_genes_are_null_so_discoveries_among_them_are_rare(scanned):
    db_path, result = scanned
    [(discoveries,)] = query(
        db_path,
        "select count(*) from results.gene_scan where run_id = ? and gene like 'GENE%' "
        "and logrank_q <= 0.05",
        [result.run_id],
    )
    assert discoveries <= 2  # every one is false by construction


def test_the_report_shows_the_volcano_and_the_top_genes(scanned, tmp_path: Path):
    db_path, result = scanned
    report = write_report(db_path, run_id=result.run_id, out_dir=tmp_path / "report")
    kinds = [(figure.kind, figure.endpoint) for figure in report.figures]
    for endpoint in ("pfs", "os"):
        assert ("scan_volcano", endpoint) in kinds and ("scan_top_genes", endpoint) in kinds
    page = report.index_html.read_text()
    assert "Genome-wide quartile scan" in page and "Top genes by log-rank p" in page
    [(curve_genes,)] = query(
        db_path,
        "select count(distinct gene) from results.gene_scan_curves where run_id = ?",
        [result.run_id],
    )
    assert 6 <= curve_genes <= 12


def test_biomarkers_all_analyses_the_top_genes_in_full(scanned, tmp_path: Path):
    db_path, _ = scanned
    text = DSMM_SPEC.read_text().replace("biomarkers: [IKZF1, IKZF3, CRBN, BSG]", "biomarkers: all")
    assert "biomarkers: all" in text
    spec = parse_spec(text, source="all.yml")
    result = analyze(db_path, spec, code_version="test")
    top = [
        gene
        for (gene,) in query(
            db_path,
            "select gene from results.gene_scan where run_id = ? and subgroup = 'all' "
            "qualify row_number() over (partition by endpoint order by logrank_p, gene) <= 6",
            [result.run_id],
        )
    ]
    analysed = {
        gene
        for (gene,) in query(
            db_path,
            "select distinct biomarker from results.logrank_tests where run_id = ?",
            [result.run_id],
        )
    }
    assert analysed == set(top)
    assert any("genes scanned; the full analysis covers the top" in w for w in result.warnings)


def test_cohort_scan_command_scans_every_gene_and_prints_the_discoveries(scanned):
    from typer.testing import CliRunner

    from pipelines.cli import app

    db_path, _ = scanned
    outcome = CliRunner().invoke(app, ["scan", "--spec", str(DSMM_SPEC), "--db", str(db_path)])
    assert outcome.exit_code == 0, outcome.output
    assert f"Genome scan PFS  {4 + BACKGROUND:,} genes" in outcome.output
    assert "Genome scan OS" in outcome.output and "with q ≤ 0.05" in outcome.output
    [(run_id, settings)] = query(
        db_path,
        "select run_id, settings from results.analysis_runs order by finished_at desc limit 1",
    )
    assert '"biomarkers":"all"' in settings
    [(genes,)] = query(
        db_path, "select count(distinct gene) from results.gene_scan where run_id = ?", [run_id]
    )
    assert genes == 4 + BACKGROUND


def test_subgroup_scans_use_the_analysis_subgroups(scanned):
    db_path, _ = scanned
    text = DSMM_SPEC.read_text().replace("scan:\n", "scan:\n  within_subgroups: true\n")
    assert "within_subgroups: true" in text
    result = analyze(db_path, parse_spec(text, source="sub.yml"), code_version="test")
    scanned_subgroups = {
        row[0]
        for row in query(
            db_path,
            "select distinct subgroup from results.gene_scan where run_id = ?",
            [result.run_id],
        )
    }
    analysed_subgroups = {
        row[0]
        for row in query(
            db_path,
            "select distinct subgroup from results.logrank_tests where run_id = ? "
            "and subgroup not like '% interaction'",
            [result.run_id],
        )
    }
    assert (
        scanned_subgroups
        == analysed_subgroups
        == {
            "all",
            "cytogenetic_risk=standard",
            "cytogenetic_risk=high",
        }
    )
    [(scan_n, single_n)] = query(
        db_path,
        "select s.n, (select sum(n) from results.group_summary g where g.run_id = s.run_id "
        "and g.biomarker = 'IKZF1' and g.endpoint = 'pfs' and g.grouping = 'q1_vs_rest' "
        "and g.subgroup = s.subgroup) from results.gene_scan s where s.run_id = ? "
        "and s.gene = 'IKZF1' and s.endpoint = 'pfs' and s.subgroup = 'cytogenetic_risk=standard'",
        [result.run_id],
    )
    assert scan_n == single_n
