"""The ``cohort`` command line: thin commands that parse options, call one step, print.

Heavy libraries (dbt, Great Expectations, lifelines) are imported inside the commands
that need them so that ``cohort --help`` answers at once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines import __version__
from pipelines.errors import ContractError
from pipelines.warehouse import DEFAULT_DB_PATH

app = typer.Typer(
    name="cohort",
    help=(
        "Cohort analytics warehouse for biomarker survival studies.\n\n"
        "Example: cohort simulate --out demo_input && cohort ingest demo_input"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", help="Warehouse file (DuckDB). Several studies can live side by side."),
]

#: Exit code for a delivery that breaks the raw contract (nothing was written).
EXIT_CONTRACT = 2
#: Exit code for a build in which a dbt test failed or a node (or dbt itself) errored.
EXIT_BUILD_FAILED = 3
#: Exit code for a step refused because the warehouse is not ready (e.g. never ingested).
EXIT_NOT_READY = 4
#: Exit code for a quality gate in which a critical expectation failed.
EXIT_GATE_FAILED = 5
#: Exit code for an analysis refused (gate not passed, settings differ, unknown names).
EXIT_ANALYSIS_REFUSED = 6

SpecOption = Annotated[
    Path | None,
    typer.Option("--spec", help="Study spec (YAML); see docs/study-spec.md."),
]


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"cohort {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Cohort analytics warehouse for biomarker survival studies.

    Example: `cohort simulate --out demo_input && cohort ingest demo_input`
    """


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the raw tables into.")],
    patients: Annotated[int, typer.Option(help="Number of patients.")] = 60,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives identical files.")
    ] = 2017,
    genes: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated qRT-PCR genes (default IKZF1,IKZF3,CRBN,BSG), "
            "or a number of genes for the genome-wide scale mode (log2, Parquet)."
        ),
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv or parquet (default: csv; parquet in scale mode)."),
    ] = None,
    defects: Annotated[
        str | None,
        typer.Option(help="Comma-separated data defects to inject (see docs/simulated-cohort.md)."),
    ] = None,
) -> None:
    """Write a SIMULATED DSMM-like myeloma cohort in the raw contract.

    The demo cohort is simulated, never real patient data: file names, a sidecar
    SIMULATED.json and an is_simulated column say so.

    Examples:

      `cohort simulate --out demo_input`

      `cohort simulate --out scale_input --patients 1000 --genes 20000`

      `cohort simulate --out bad_input --defects duplicate_patient,negative_ct`
    """
    from pipelines.simulate import simulate as run_simulation

    gene_choice: list[str] | int | None = None
    if genes:
        gene_choice = int(genes) if genes.strip().isdigit() else _split(genes)
    if file_format not in (None, "csv", "parquet"):
        raise typer.BadParameter("use csv or parquet", param_hint="--format")
    try:
        result = run_simulation(
            out,
            patients=patients,
            seed=seed,
            genes=gene_choice,
            file_format=file_format,  # type: ignore[arg-type]
            defects=_split(defects) if defects else (),
        )
    except ValueError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_CONTRACT) from error
    table = Table(title=f"Simulated cohort ({result.mode}, seed {result.seed}) in {result.out_dir}")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, path in result.files.items():
        table.add_row(name, path.name, f"{result.row_counts[name]:,}")
    console.print(table)
    for defect in result.defects_applied:
        console.print(f"  injected defect: {defect}")
    console.print("[yellow]These data are simulated, not patient data.[/yellow]")


@app.command()
def ingest(
    input_dir: Annotated[
        Path, typer.Argument(help="Folder with patients, expression and (optional) cytogenetics.")
    ],
    db: DbOption = DEFAULT_DB_PATH,
) -> None:
    """Load a delivery folder into the warehouse's raw schema, all or nothing.

    Values are stored as delivered (text) with load metadata; the same files twice
    add nothing; a changed file becomes a new batch. Structural problems are refused
    before anything is written, naming file, row and column.

    Example: `cohort ingest demo_input --db warehouse/cohort.duckdb`
    """
    from pipelines.ingest import ingest as run_ingest

    try:
        result = run_ingest(input_dir, db, code_version=__version__)
    except ContractError as error:
        errors.print(f"[red]Refused {input_dir}[/red]: nothing was written to {db}.")
        for violation in error.violations:
            errors.print(f"  - {violation}", markup=False, highlight=False)
        raise typer.Exit(EXIT_CONTRACT) from error
    except (NotADirectoryError, FileNotFoundError) as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_CONTRACT) from error
    verb = "Loaded" if result.is_new_batch else "Nothing new: already loaded as"
    label = " (simulated data)" if result.is_simulated else ""
    table = Table(title=f"{verb} batch {result.batch_id} into {db}{label}")
    for column in ("table", "file", "format", "rows", "status"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for load in result.tables:
        table.add_row(
            load.table_name,
            load.source_file or "-",
            load.file_format or "-",
            f"{load.row_count:,}",
            load.status,
        )
    console.print(table)


@app.command()
def build(
    db: DbOption = DEFAULT_DB_PATH,
    spec: SpecOption = None,
    cutoff: Annotated[
        dt.datetime | None,
        typer.Option(
            "--cutoff",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Data cut-off date: later events are ignored, follow-up is censored at it.",
        ),
    ] = None,
    high_risk: Annotated[
        str | None,
        typer.Option(
            "--high-risk",
            help="Comma-separated high-risk aberrations (canonical names); "
            'default "del(17p),t(4;14),t(14;16)".',
        ),
    ] = None,
    reference_gene: Annotated[
        str | None,
        typer.Option(help="qRT-PCR reference gene when the rows do not name one."),
    ] = None,
) -> None:
    """Build the cohort marts from the raw batch with dbt (models and tests).

    Prints counts by status, timings, every failing test with the model it tests and
    example failing rows, and on success the cohort by cytogenetic risk group. Exits
    with 3 if any test fails or any model errors, 4 if nothing was ingested yet.

    Example: `cohort build --db warehouse/cohort.duckdb --cutoff 2014-11-01`
    """
    from pipelines.build import BuildRefused, build_cohort
    from pipelines.build.summary import print_build_summary

    if spec is not None:
        if cutoff or high_risk or reference_gene:
            raise typer.BadParameter(
                "give either --spec or --cutoff/--high-risk/--reference-gene",
                param_hint="--spec",
            )
        settings = _load_spec(spec).build_settings()
    else:
        settings = _settings_from_options(cutoff, high_risk, reference_gene)
    try:
        result = build_cohort(db, settings=settings)
    except BuildRefused as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_NOT_READY) from error
    print_build_summary(console, result)
    if not result.success:
        raise typer.Exit(EXIT_BUILD_FAILED)


def _settings_from_options(
    cutoff: dt.datetime | None, high_risk: str | None, reference_gene: str | None
) -> Any:
    from pipelines.build import DEFAULT_HIGH_RISK_ABERRATIONS, BuildSettings

    try:
        return BuildSettings(
            data_cutoff_date=cutoff.date() if cutoff else None,
            high_risk_aberrations=(
                tuple(_split(high_risk)) if high_risk else DEFAULT_HIGH_RISK_ABERRATIONS
            ),
            reference_gene=reference_gene,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


@app.command()
def docs(
    db: DbOption = DEFAULT_DB_PATH,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for index.html (default <db dir>/build/<db>/docs)."),
    ] = None,
) -> None:
    """Generate the dbt documentation of the warehouse as one offline HTML page.

    Run `cohort build` first: column types come from the built warehouse.

    Example: `cohort docs --db warehouse/cohort.duckdb --out warehouse/docs`
    """
    from pipelines.build import BuildRefused
    from pipelines.build.docs import DocsError, generate_docs

    try:
        result = generate_docs(db, out_dir=out)
    except BuildRefused as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_NOT_READY) from error
    except DocsError as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_BUILD_FAILED) from error
    console.print(f"Documentation: {result.index_html}", highlight=False, markup=False)
    for url in result.remote_assets:
        errors.print(f"  warning: the page loads {url} (unavailable offline)", markup=False)


@app.command()
def validate(
    db: DbOption = DEFAULT_DB_PATH,
    spec: SpecOption = None,
    uses: Annotated[
        str | None,
        typer.Option(
            "--uses",
            help="Comma-separated cohort fields the study uses as covariates or subgroups "
            "(age_at_diagnosis, iss_stage, cytogenetic_risk): their completeness checks "
            "become critical.",
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Folder for the HTML report (default <db dir>/reports/<db>/validation).",
        ),
    ] = None,
) -> None:
    """Run the quality gate (Great Expectations suites in expectations/) on the warehouse.

    Prints a verdict per suite and per failing expectation, stores the results in
    quality.validation_runs and quality.validation_results, and writes an offline HTML
    report. Exits with 5 if a critical expectation fails (warnings do not fail), 4 if
    the warehouse is not built, 2 if a suite file is invalid.

    Example: `cohort validate --db warehouse/cohort.duckdb --uses cytogenetic_risk`
    """
    from pipelines.validate import SuiteError, ValidationRefused
    from pipelines.validate.gate import run_gate
    from pipelines.validate.summary import render_summary

    critical_fields = _split(uses) if uses else []
    if spec is not None:
        used = _load_spec(spec).critical_fields()
        critical_fields += [field for field in used if field not in critical_fields]
    try:
        gate = run_gate(
            db,
            code_version=__version__,
            critical_fields=critical_fields,
            report_dir=report_dir,
        )
    except ValidationRefused as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_NOT_READY) from error
    except SuiteError as error:
        errors.print(f"[red]invalid suite:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_CONTRACT) from error
    render_summary(gate.run, console, report_path=gate.report_path)
    if not gate.passed:
        raise typer.Exit(EXIT_GATE_FAILED)


@app.command()
def analyze(
    spec: Annotated[
        Path, typer.Option("--spec", help="Study spec (YAML); see docs/study-spec.md.")
    ],
    db: DbOption = DEFAULT_DB_PATH,
) -> None:
    """Compute the study spec's quartile survival statistics into schema results.

    Refuses (exit 6) unless the marts were built with the spec's settings and the
    latest quality gate passed; a bad spec exits 2 naming every problem.

    Example: `cohort analyze --spec studies/dsmm_ikzf1.yml --db warehouse/cohort.duckdb`
    """
    from pipelines.analyze.cohort import AnalysisRefused
    from pipelines.analyze.run import analyze as run_analysis
    from pipelines.analyze.summary import print_summary

    study = _load_spec(spec)
    try:
        result = run_analysis(db, study, code_version=__version__)
    except AnalysisRefused as error:
        errors.print(f"[red]analysis refused:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_ANALYSIS_REFUSED) from error
    written = ", ".join(f"{table} {rows:,}" for table, rows in result.rows_written.items())
    console.print(f"Analysis run {result.run_id}: wrote {written}", highlight=False)
    for warning in result.warnings:
        console.print(f"  warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    from pipelines.warehouse import connect

    with connect(db, read_only=True) as con:
        print_summary(console, con, result.run_id)


@app.command()
def results(
    db: DbOption = DEFAULT_DB_PATH,
    run: Annotated[
        str | None, typer.Option("--run", help="Run id (default: the latest succeeded run).")
    ] = None,
) -> None:
    """Print the paper-style summary of an analysis run from the result tables.

    Example: `cohort results --db warehouse/cohort.duckdb`
    """
    from pipelines.analyze.summary import print_summary
    from pipelines.warehouse import connect

    with connect(db, read_only=True) as con:
        try:
            rows = con.execute(
                "select run_id from results.analysis_runs where status = 'succeeded' "
                "and (? is null or run_id = ?) order by finished_at desc limit 1",
                [run, run],
            ).fetchall()
        except Exception:
            rows = []
        if not rows:
            errors.print("[red]error:[/red] no analysis run found; run `cohort analyze` first")
            raise typer.Exit(EXIT_NOT_READY)
        print_summary(console, con, rows[0][0])


@app.command()
def report(
    db: DbOption = DEFAULT_DB_PATH,
    run: Annotated[
        str | None, typer.Option("--run", help="Run id (default: the latest succeeded run).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder (default <db dir>/reports/<db>/<run id>)."),
    ] = None,
) -> None:
    """Write the Kaplan-Meier and forest figures and the HTML report of an analysis run.

    Figures (PNG 300 dpi and SVG) and one self-contained index.html, drawn from the
    result tables, with provenance, the quality verdict, Table 1, results and warnings.

    Example: `cohort report --db warehouse/cohort.duckdb`
    """
    from pipelines.report.run import ReportRefused, write_report

    try:
        result = write_report(db, run_id=run, out_dir=out)
    except ReportRefused as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_NOT_READY) from error
    console.print(
        f"Report of run {result.run_id} ({len(result.figures)} figures): {result.index_html}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _load_spec(path: Path) -> Any:
    from pipelines.spec import SpecError, load_spec

    try:
        return load_spec(path)
    except (SpecError, OSError) as error:
        errors.print(f"[red]invalid study spec:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_CONTRACT) from error


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
