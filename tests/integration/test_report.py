"""`cohort report` end to end on the simulated cohort: every figure kind, one HTML page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.analyze.run import analyze
from pipelines.build import build_cohort
from pipelines.ingest import ingest
from pipelines.report.files import FIGURE_KINDS, SCAN_FIGURE_KINDS
from pipelines.report.run import ReportRefused, write_report
from pipelines.simulate import simulate
from pipelines.spec import load_spec
from pipelines.validate.gate import run_gate
from tests.conftest import FIXED_LOAD_TIME, REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEC = REPO_ROOT / "studies" / "dsmm_ikzf1.yml"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("report")
    simulate(work / "input", patients=60, seed=2017)
    db_path = work / "demo.duckdb"
    spec = load_spec(SPEC)
    ingest(work / "input", db_path, code_version="test", loaded_at=FIXED_LOAD_TIME)
    assert build_cohort(db_path, settings=spec.build_settings()).success
    run_gate(
        db_path,
        code_version="test",
        critical_fields=spec.critical_fields(),
        report_dir=work / "gate",
    )
    analyze(db_path, spec, code_version="test")
    return write_report(db_path, out_dir=work / "out")


def test_every_figure_kind_is_written_as_png_and_svg(report):
    # the reference study's spec asks for the genome-wide scan too
    assert {figure.kind for figure in report.figures} == {*FIGURE_KINDS, *SCAN_FIGURE_KINDS}
    for figure in report.figures:
        assert figure.png_path.stat().st_size > 0 and figure.svg_path.stat().st_size > 0
    panels = {
        (gene, endpoint) for gene in ("IKZF1", "IKZF3", "CRBN", "BSG") for endpoint in ("pfs", "os")
    }
    for kind in ("km_q1_vs_rest", "partial_effect"):
        drawn = [f for f in report.figures if f.kind == kind]
        assert {(f.biomarker, f.endpoint) for f in drawn} == panels, kind
    partial = next(f for f in report.figures if f.kind == "partial_effect")
    assert partial.png_path.name == f"partial_effect_{partial.biomarker}_{partial.endpoint}.png"
    assert "non-linearity p" in partial.svg_path.read_text(encoding="utf-8")


def test_html_report_is_self_contained_and_labelled(report):
    html = report.index_html.read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>")
    assert report.run_id in html and "SIMULATED" in html.upper()
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html
    assert "SIM-0" not in html  # no patient ids in the report


def test_a_missing_run_is_refused(tmp_path: Path):
    simulate(tmp_path / "input", patients=20, seed=3)
    db_path = tmp_path / "empty.duckdb"
    ingest(tmp_path / "input", db_path, code_version="test")
    with pytest.raises(ReportRefused, match="cohort analyze"):
        write_report(db_path)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_headless_browser_renders_the_report(report, tmp_path: Path):
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,1600",
            report.index_html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert screenshot.stat().st_size > 50_000  # a rendered page, not a blank one


def test_report_renders_on_the_real_uams_cohort(tmp_path: Path):
    from tests.conftest import real_cohort_dir

    spec = load_spec(REPO_ROOT / "studies" / "uams_tt_markers.yml")
    db_path = tmp_path / "uams.duckdb"
    ingest(real_cohort_dir("uams_gse24080_mm"), db_path, code_version="test")
    assert build_cohort(db_path, settings=spec.build_settings()).success
    run_gate(
        db_path,
        code_version="test",
        critical_fields=spec.critical_fields(),
        report_dir=tmp_path / "gate",
    )
    analyze(db_path, spec, code_version="test")
    result = write_report(db_path, out_dir=tmp_path / "out")
    html = result.index_html.read_text(encoding="utf-8")
    assert "SIMULATED DATA" not in html
    assert {figure.kind for figure in result.figures} == set(FIGURE_KINDS)
    assert "UAMS-" not in html  # no patient ids
