"""The ``cohort`` command line: thin commands that parse options, call one step, print.

Heavy libraries (dbt, Great Expectations, lifelines) are imported inside the commands
that need them so that ``cohort --help`` answers at once.

Errors: a step raises a :class:`~pipelines.errors.CohortError`; the command group
(:class:`CohortCommands`) prints its message and exits with its
:class:`~pipelines.errors.ExitCode`. Commands never print an error and exit by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from pipelines import __version__
from pipelines.errors import (
    CohortError,
    ContractError,
    ExitCode,
    InputRefused,
    WarehouseNotReady,
)
from pipelines.warehouse import DEFAULT_DB_PATH

console = Console()
errors = Console(stderr=True, soft_wrap=True)


class CohortCommands(TyperGroup):
    """The ``cohort`` command group: the one place where an error becomes an exit code.

    Any :class:`CohortError` a command raises is printed on stderr (``label: message``,
    or for a refused delivery the folder, the warehouse and every violation) and ends
    the process with the error's ``exit_code``; anything else is a bug and keeps its
    traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CohortError as error:
            print_error(error)
            raise typer.Exit(error.exit_code) from error


def print_error(error: CohortError) -> None:
    """What the user reads about ``error``, on stderr."""
    if isinstance(error, ContractError) and error.input_dir is not None:
        errors.print(
            f"[red]Refused {escape(str(error.input_dir))}[/red]: "
            f"nothing was written to {escape(str(error.db_path))}."
        )
        for violation in error.violations:
            errors.print(f"  - {violation}", markup=False, highlight=False)
        return
    errors.print(f"[red]{escape(error.label)}:[/red] {escape(str(error))}")


app = typer.Typer(
    cls=CohortCommands,
    name="cohort",
    help=(
        "Cohort analytics warehouse for biomarker survival studies.\n\n"
        "Example: cohort simulate --out demo_input && cohort ingest demo_input"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    # a crash must not print local variables: they can hold patient ids or the key
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DbOption = Annotated[
    Path,
    typer.Option("--db", help="Warehouse file (DuckDB). Several studies can live side by side."),
]

#: The exit codes under the names scripts and tests import from here (defined once, in
#: :class:`pipelines.errors.ExitCode`).
EXIT_CONTRACT = ExitCode.BAD_INPUT
EXIT_BUILD_FAILED = ExitCode.BUILD_FAILED
EXIT_NOT_READY = ExitCode.NOT_READY
EXIT_GATE_FAILED = ExitCode.GATE_FAILED
EXIT_ANALYSIS_REFUSED = ExitCode.ANALYSIS_REFUSED

#: Null log2 genes the demo cohort carries, so `make demo` includes a small genome scan.
DEMO_BACKGROUND_GENES = 500

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
    background_genes: Annotated[
        int,
        typer.Option(
            "--background-genes",
            help="qRT-PCR mode: add this many log2 genes with no effect on survival "
            "(a small genome-wide scan; same patients and outcomes).",
        ),
    ] = 0,
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
    with _refusing(ValueError):  # the simulator's own check of the options
        result = run_simulation(
            out,
            patients=patients,
            seed=seed,
            genes=gene_choice,
            file_format=file_format,  # type: ignore[arg-type]
            defects=_split(defects) if defects else (),
            background_genes=background_genes,
        )
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
    pseudonymise: Annotated[
        bool,
        typer.Option(
            "--pseudonymise",
            help="Replace patient ids by keyed hashes (PS-…) before anything is stored. "
            "Key: $COHORT_PSEUDONYM_KEY or --pseudonym-key-file, at least 32 characters; "
            "it is never stored. Every batch of a warehouse must use the same key.",
        ),
    ] = False,
    pseudonym_key_file: Annotated[
        Path | None,
        typer.Option(
            "--pseudonym-key-file",
            help="File holding the pseudonym key (wins over $COHORT_PSEUDONYM_KEY); "
            "needs --pseudonymise.",
        ),
    ] = None,
) -> None:
    """Load a delivery folder into the warehouse's raw schema, all or nothing.

    Values are stored as delivered (text) with load metadata; the same files twice
    add nothing; a changed file becomes a new batch. Structural problems are refused
    before anything is written, naming file, row and column. With --pseudonymise,
    patient ids are replaced by keyed hashes in the same transaction (see
    docs/raw-contract.md, "Pseudonymisation").

    Example: `cohort ingest demo_input --db warehouse/cohort.duckdb`

    Example: `cohort ingest demo_input --pseudonymise --pseudonym-key-file ~/study.key`
    """
    from pipelines.ingest import ingest as run_ingest
    from pipelines.ingest import key_refusal
    from pipelines.pseudonym import PseudonymKeyError

    if pseudonym_key_file is not None and not pseudonymise:
        raise typer.BadParameter(
            "a key file is only read with --pseudonymise", param_hint="--pseudonym-key-file"
        )
    try:
        key = _pseudonym_key(pseudonymise, pseudonym_key_file)
    except PseudonymKeyError as error:  # refused like a delivery that breaks the contract
        raise key_refusal(input_dir, error, db_path=db) from error
    with _refusing(NotADirectoryError, FileNotFoundError), _writing(db, "cohort ingest"):
        result = run_ingest(input_dir, db, code_version=__version__, pseudonym_key=key)
    verb = "Loaded" if result.is_new_batch else "Nothing new: already loaded as"
    label = " (simulated data)" if result.is_simulated else ""
    label += " (pseudonymised)" if result.is_pseudonymised else ""
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
    from pipelines.build import build_cohort
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
    with _writing(db, "cohort build"):
        result = build_cohort(db, settings=settings)
    print_build_summary(console, result)
    if not result.success:
        raise typer.Exit(ExitCode.BUILD_FAILED)


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
    from pipelines.build.docs import generate_docs

    result = generate_docs(db, out_dir=out)
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
    from pipelines.validate.gate import run_gate
    from pipelines.validate.summary import render_summary

    critical_fields = _split(uses) if uses else []
    if spec is not None:
        used = _load_spec(spec).critical_fields()
        critical_fields += [field for field in used if field not in critical_fields]
    with _writing(db, "cohort validate"):
        gate = run_gate(
            db,
            code_version=__version__,
            critical_fields=critical_fields,
            report_dir=report_dir,
        )
    render_summary(gate.run, console, report_path=gate.report_path)
    if not gate.passed:
        raise typer.Exit(ExitCode.GATE_FAILED)


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
    from pipelines.analyze.run import analyze as run_analysis
    from pipelines.analyze.summary import print_scan_summary, print_summary

    study = _load_spec(spec)
    with _writing(db, "cohort analyze"):
        result = run_analysis(db, study, code_version=__version__)
    written = ", ".join(f"{table} {rows:,}" for table, rows in result.rows_written.items())
    console.print(f"Analysis run {result.run_id}: wrote {written}", highlight=False)
    for warning in result.warnings:
        console.print(f"  warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    from pipelines.warehouse import connect

    with connect(db, read_only=True) as con:
        print_summary(console, con, result.run_id)
        print_scan_summary(console, con, result.run_id)


@app.command()
def scan(
    spec: Annotated[
        Path, typer.Option("--spec", help="Study spec (YAML); see docs/study-spec.md.")
    ],
    db: DbOption = DEFAULT_DB_PATH,
) -> None:
    """Genome-wide quartile scan: every gene of the cohort, with false-discovery control.

    Runs the spec as if it said `biomarkers: all`: every gene with at least
    min_patients_per_gene patients gets the Q1 vs Q2-Q4 and quartile log-rank tests,
    the trend test and the Cox HR (Q2-Q4 vs Q1, Efron), with Benjamini-Hochberg
    q-values, into results.gene_scan; the top genes (the spec's scan.top_genes, default
    6 per endpoint) get the full analysis. Same refusals as `cohort analyze`.

    Example: `cohort scan --spec studies/genome_scan.yml --db warehouse/scale.duckdb`
    """
    import dataclasses

    from pipelines.analyze.run import analyze as run_analysis
    from pipelines.analyze.summary import print_scan_summary
    from pipelines.spec import ScanSettings
    from pipelines.warehouse import connect

    study = _load_spec(spec)
    study = dataclasses.replace(
        study, biomarkers="all", scan=study.scan_settings() or ScanSettings()
    )
    with _writing(db, "cohort scan"):
        result = run_analysis(db, study, code_version=__version__)
    console.print(f"Analysis run {result.run_id} (genome scan)", highlight=False)
    with connect(db, read_only=True) as con:
        print_scan_summary(console, con, result.run_id)


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
    from pipelines.analyze.summary import print_scan_summary, print_summary
    from pipelines.warehouse import connect, latest_analysis_run_id

    with connect(db, read_only=True) as con:
        run_id = latest_analysis_run_id(con, run_id=run)
        if run_id is None:
            raise WarehouseNotReady("no analysis run found; run `cohort analyze` first")
        print_summary(console, con, run_id)
        print_scan_summary(console, con, run_id)


@app.command()
def sql(
    query: Annotated[
        str | None,
        typer.Argument(
            help='One query, e.g. "select * from marts.cohort_patients"; - reads stdin.'
        ),
    ] = None,
    db: DbOption = DEFAULT_DB_PATH,
    query_file: Annotated[
        Path | None,
        typer.Option("--file", help="Read the query from this file (- for stdin)."),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Export every row to this CSV file (header).")
    ] = None,
    parquet_file: Annotated[
        Path | None, typer.Option("--parquet", help="Export every row to this Parquet file.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Rows to show (exports are never limited).")
    ] = 50,
) -> None:
    """Run one read-only SQL query on the warehouse; show the rows or export them.

    The file is opened read-only: writes (create, insert, delete, copy, ...) and more
    than one statement are refused. Exports replace the file only when the query
    succeeded. Exits with 2 for a refused or failing query, 4 if the warehouse does
    not exist or a step is writing it. Schemas and example queries:
    docs/warehouse.md.

    Example: `cohort sql "select * from results.latest_logrank_tests" --limit 20`
    """
    import sys

    from pipelines.sql import ExportFormat, export_query, print_result, run_query

    if (query is None) == (query_file is None):
        raise typer.BadParameter("give a query or --file (not both)", param_hint="QUERY")
    if csv_file is not None and parquet_file is not None:
        raise typer.BadParameter("give --csv or --parquet, not both", param_hint="--csv")
    if query_file is not None:
        try:
            text = sys.stdin.read() if str(query_file) == "-" else query_file.read_text()
        except OSError as error:
            raise typer.BadParameter(str(error), param_hint="--file") from error
    else:
        text = sys.stdin.read() if query == "-" else str(query)
    destination = csv_file if csv_file is not None else parquet_file
    file_format: ExportFormat = "csv" if csv_file is not None else "parquet"
    if destination is None:
        print_result(console, run_query(db, text, limit=limit))
    else:
        exported = export_query(db, text, destination, file_format=file_format)
        noun = "row" if exported.rows == 1 else "rows"
        rows = "" if exported.rows is None else f"{exported.rows:,} {noun} "
        console.print(
            f"Wrote {rows}to {exported.path} ({file_format})", highlight=False, markup=False
        )


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
    from pipelines.report.run import write_report

    result = write_report(db, run_id=run, out_dir=out)
    console.print(
        f"Report of run {result.run_id} ({len(result.figures)} figures): {result.index_html}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


RunInputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        help="Delivery folder (default: the simulated demo cohort in <db dir>/demo_input, "
        "simulated on first use).",
    ),
]
RunSpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec", help="Study spec (YAML); required with --input, default the demo study."
    ),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait for another writer (a run, an ingest) to finish; 0 refuses at once.",
    ),
]


@app.command()
def run(
    input_dir: RunInputOption = None,
    spec: RunSpecOption = None,
    db: DbOption = DEFAULT_DB_PATH,
    force: Annotated[
        bool, typer.Option("--force", help="Run even if input, spec and code are unchanged.")
    ] = False,
    wait: WaitOption = 0,
    pseudonymise: Annotated[
        bool,
        typer.Option(
            "--pseudonymise",
            help="Replace patient ids by a keyed hash at ingest (key: COHORT_PSEUDONYM_KEY "
            "or --pseudonym-key-file).",
        ),
    ] = False,
    pseudonym_key_file: Annotated[
        Path | None, typer.Option("--pseudonym-key-file", help="File holding the key.")
    ] = None,
    trigger: Annotated[
        str, typer.Option("--trigger", hidden=True, help="Recorded as the run's trigger.")
    ] = "manual",
) -> None:
    """Run the whole pipeline: ingest, build, validate, analyze, report; publish atomically.

    Every step works on a private copy of the warehouse; only when all succeed does
    the copy replace the published file, so a failed or killed run leaves published
    results exactly as they were, and readers are never blocked. Each run is recorded
    in meta.pipeline_runs (`cohort runs`). A run whose input, spec and code equal
    those of the last published run does nothing (use --force).

    Exit codes: 0 success or nothing to do, 2 bad input or spec (ingest), 3 build, 5
    quality gate, 6 analysis, 7 report or publish, 8 another writer holds the lock.

    Examples:

      `cohort run` (the simulated demo cohort)

      `cohort run --input examples/uams_gse24080_mm --spec studies/uams_tt_markers.yml`
    """
    import signal

    from pipelines.run import RunOptions, run_pipeline
    from pipelines.run.summary import print_outcome, print_step
    from pipelines.spec import SpecError

    input_dir, spec = _run_inputs(input_dir, spec, db)
    if pseudonym_key_file is not None and not pseudonymise:
        raise typer.BadParameter("--pseudonym-key-file needs --pseudonymise")
    key = _pseudonym_key(pseudonymise, pseudonym_key_file)
    signal.signal(signal.SIGTERM, _interrupt)
    options = RunOptions(
        db_path=db,
        input_dir=input_dir,
        spec_path=spec,
        trigger=trigger,
        force=force,
        wait_seconds=wait,
        pseudonym_key=key,
    )
    console.print(f"cohort run: {input_dir} with {spec} into {db}", highlight=False)
    # A bad spec or an unreadable input folder is found before anything is touched.
    with _refusing(SpecError, OSError), console.status("starting") as status:

        def observe(name: str, step: Any, detail: Any) -> None:
            if step is None:
                status.update(f"{name} …")
            else:
                print_step(console, name, step)

        outcome = run_pipeline(options, observe)
    _print_failure_detail(outcome)
    print_outcome(console, outcome, db.resolve())
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _run_inputs(input_dir: Path | None, spec: Path | None, db: Path) -> tuple[Path, Path]:
    """``--input``/``--spec``, or the demo cohort (simulated on first use) and study."""
    from pipelines.run.fingerprint import SOURCE_ROOT

    if input_dir is not None:
        if spec is None:
            raise typer.BadParameter("give the study spec with --spec", param_hint="--spec")
        return input_dir, spec
    demo_input = db.parent / "demo_input"
    if not _is_current_demo(demo_input):
        from pipelines.simulate import simulate as run_simulation

        console.print(
            f"Simulating the demo cohort into {demo_input} (simulated data; 4 qRT-PCR "
            f"genes and {DEMO_BACKGROUND_GENES} null background genes for the scan)."
        )
        with _refusing(ValueError):  # e.g. the folder holds something else
            run_simulation(demo_input, background_genes=DEMO_BACKGROUND_GENES)
    return demo_input, spec or SOURCE_ROOT / "studies" / "dsmm_ikzf1.yml"


def _is_current_demo(folder: Path) -> bool:
    """True if ``folder`` holds the demo cohort as this version simulates it.

    A demo folder from an older version (e.g. without the scan's background genes) is
    simulated again; it is the product's own folder, never user data.
    """
    import json

    from pipelines.ingest import SIMULATION_SIDECAR

    try:
        sidecar = json.loads((folder / SIMULATION_SIDECAR).read_text())
    except (OSError, ValueError):
        return False
    return sidecar.get("background_genes") == DEMO_BACKGROUND_GENES


def _pseudonym_key(pseudonymise: bool, key_file: Path | None) -> bytes | None:
    """The key for --pseudonymise: ``key_file``, else ``$COHORT_PSEUDONYM_KEY``.

    Raises :class:`~pipelines.pseudonym.PseudonymKeyError` when there is no usable key.
    """
    if not pseudonymise:
        return None
    from pipelines.pseudonym import load_key

    return load_key(key_file)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM (systemd stop, kill) ends a run like Ctrl-C: recorded, nothing published."""
    raise KeyboardInterrupt


def _print_failure_detail(outcome: Any) -> None:
    """The failing step's own report: failing dbt tests with rows, or the gate verdict."""
    if outcome.status != "failed":
        return
    detail = outcome.details.get(outcome.run.failed_step)
    if outcome.run.failed_step == "build" and detail is not None:
        from pipelines.build.summary import print_build_summary

        print_build_summary(errors, detail)
    elif outcome.run.failed_step == "validate" and detail is not None:
        from pipelines.validate.summary import render_summary

        render_summary(detail.run, errors, report_path=detail.report_path)
    elif outcome.run.failed_step == "ingest" and isinstance(detail, ContractError):
        for violation in detail.violations:
            errors.print(f"  - {violation}", markup=False, highlight=False)


@app.command()
def runs(
    db: DbOption = DEFAULT_DB_PATH,
    limit: Annotated[int, typer.Option("--limit", help="How many runs to list.")] = 20,
    run_id: Annotated[str | None, typer.Option("--run", help="Show the steps of this run.")] = None,
) -> None:
    """List the pipeline runs recorded in meta.pipeline_runs, newest first.

    Example: `cohort runs --db warehouse/cohort.duckdb --limit 5`
    """
    from pipelines.run.registry import list_runs

    if not db.exists():
        raise WarehouseNotReady(f"no warehouse at {db}")
    recorded = list_runs(db, limit=10_000 if run_id else limit)
    if run_id:
        recorded = [item for item in recorded if item.run_id == run_id]
        if not recorded:
            raise WarehouseNotReady(f"no run {run_id} in {db}")
    table = Table(title=f"Pipeline runs in {db}")
    table.add_column("run", no_wrap=True)
    table.add_column("trigger")
    table.add_column("status")
    table.add_column("started (UTC)")
    table.add_column("s", justify="right")
    table.add_column("message or report", overflow="fold")
    for item in recorded:
        note = (item.error_message or item.report_path or "").splitlines()
        table.add_row(
            item.run_id,
            item.trigger,
            item.status + (f" at {item.failed_step}" if item.failed_step else ""),
            f"{item.started_at:%Y-%m-%d %H:%M}",
            f"{item.seconds:.0f}" if item.seconds is not None else "-",
            note[0][:300] if note else "",
        )
    if not recorded:
        console.print("No pipeline run recorded yet; run `cohort run`.")
        return
    console.print(table)
    if run_id:
        [item] = recorded
        for step in item.steps:
            seconds = f"{step.seconds:.2f} s" if step.seconds is not None else "-"
            console.print(
                f"  {step.step:<9} {step.status:<12} {seconds:>9}  {step.message or ''}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


@app.command()
def schedule(
    cron: Annotated[
        str | None,
        typer.Option("--cron", help='Cron expression, e.g. "0 2 * * *" (02:00 local time).'),
    ] = None,
    every: Annotated[
        float | None, typer.Option("--every", help="Or: fire every this many seconds.")
    ] = None,
    input_dir: RunInputOption = None,
    spec: RunSpecOption = None,
    db: DbOption = DEFAULT_DB_PATH,
    wait: WaitOption = 600,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Log (rotated; default <db dir>/logs/<db>-schedule.log)."),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", help="Stop after this many firings.")
    ] = None,
) -> None:
    """Fire `cohort run` on a schedule until stopped (Ctrl-C or SIGTERM).

    Each firing is a `cohort run --trigger schedule` in a child process: unchanged
    input, spec and code make it a no-op, and the writer lock keeps runs one at a
    time. Output goes to a rotating log file. For cron or systemd timers instead,
    see docs/operations.md.

    Example: `cohort schedule --cron "0 2 * * *" --input /data/latest --spec studies/my.yml`
    """
    from pipelines.run.schedule import Schedule, default_log_file, serve

    if (cron is None) == (every is None):
        raise typer.BadParameter("give exactly one of --cron and --every")
    args = ["--db", str(db.resolve()), "--wait", str(wait)]
    if input_dir is not None:
        if spec is None:
            raise typer.BadParameter("give the study spec with --spec", param_hint="--spec")
        args += ["--input", str(input_dir.resolve())]
    if spec is not None:
        args += ["--spec", str(spec.resolve())]
    if cron is not None:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cron)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--cron") from error
    log = log_file or default_log_file(db)
    console.print(
        f"Scheduling `cohort run` {cron or f'every {every:g} s'}; log: {log} (Ctrl-C stops).",
        highlight=False,
        markup=False,
    )
    code = serve(Schedule(tuple(args), log, cron=cron, every_seconds=every, max_runs=max_runs))
    raise typer.Exit(code)


@contextlib.contextmanager
def _writing(db: Path, purpose: str) -> Iterator[None]:
    """Hold the warehouse's writer lock for a single-step command (``WarehouseBusy``,
    exit 8, if another process holds it)."""
    from pipelines.run.lock import writer_lock

    with writer_lock(db.resolve(), purpose=purpose):
        yield


@contextlib.contextmanager
def _refusing(*kinds: type[Exception], as_: type[CohortError] = InputRefused) -> Iterator[None]:
    """Report errors of these kinds as the refusal ``as_`` (message kept).

    For errors the product does not define as a :class:`CohortError` (the simulator's
    ``ValueError``, the operating system's ``OSError``) but a command treats as a
    refusal of its input.
    """
    try:
        yield
    except kinds as error:
        raise as_(str(error)) from error


class _InvalidSpec(CohortError):
    """The study spec given to a single-step command with --spec cannot be used."""

    exit_code = ExitCode.BAD_INPUT
    label = "invalid study spec"


def _load_spec(path: Path) -> Any:
    from pipelines.spec import SpecError, load_spec

    with _refusing(SpecError, OSError, as_=_InvalidSpec):
        return load_spec(path)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


if __name__ == "__main__":  # `python -m pipelines.cli`, used by `cohort schedule`
    app()
