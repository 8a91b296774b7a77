"""The readable report of a build: what ran, what failed and why, and the cohort.

dbt's own console output is switched off (see :func:`pipelines.build.runner.build_cohort`),
so this is all a user sees. Failing rows are printed as ``column=value`` pairs rather
than a table: stored failures of a ``not_null`` test hold every column of the model,
which no terminal-width table can show.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.build.result import BuildResult, ExampleRows, FailedTest

#: Longest value shown in an example row before it is cut with an ellipsis.
MAX_VALUE_WIDTH = 40
#: Resource types in the order dbt builds them, with their plural labels.
_PLURALS = {"seed": "seeds", "model": "models", "test": "tests", "unit_test": "unit tests"}


def print_build_summary(console: Console, result: BuildResult) -> None:
    """Counts by status, timings, failures with example rows, then the cohort."""
    verdict = "[green]succeeded[/green]" if result.success else "[red]FAILED[/red]"
    console.print(f"Build of {escape(str(result.db_path))} {verdict}", highlight=False)
    for line in count_lines(result):
        console.print(f"  {line}", highlight=False, markup=False)
    console.print(f"  {timing_line(result)}", highlight=False, markup=False)
    console.print(
        f"  dbt log: {result.build_dir / 'logs' / 'dbt.log'}", highlight=False, markup=False
    )
    if result.error:
        console.print("\n[red]dbt could not run the project:[/red]")
        console.print(_indent(result.error), highlight=False, markup=False)
    for node in result.errored_nodes:
        console.print(f"\n[red]{node.resource_type} {escape(node.name)} {node.status}:[/red]")
        console.print(_indent(node.message or "(no message)"), highlight=False, markup=False)
    for failed in result.failed_tests:
        print_failed_test(console, failed)
    if result.cohort is not None:
        print_cohort(console, result)


def count_lines(result: BuildResult) -> list[str]:
    """One line per resource type, e.g. ``tests     40 pass, 1 fail``."""
    lines = []
    counts = result.status_counts()
    for resource_type in sorted(counts, key=_build_order):
        counter = counts[resource_type]
        label = _PLURALS.get(resource_type, resource_type)
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(counter.items()))
        lines.append(f"{label:<8}{statuses}")
    return lines or ["nothing ran"]


def timing_line(result: BuildResult) -> str:
    """Wall time of the step, dbt's share, and within it dbt's execution-phase timer."""
    parts = (
        []
        if result.dbt_elapsed_seconds is None
        else [f"execution {result.dbt_elapsed_seconds:.1f} s"]
    )
    parts.append(f"node SQL {result.node_seconds:.1f} s summed")
    return (
        f"time    {result.wall_seconds:.1f} s wall, dbt {result.dbt_seconds:.1f} s "
        f"({', '.join(parts)})"
    )


def print_failed_test(console: Console, failed: FailedTest) -> None:
    """Test, tested model (and column), dbt's message and up to five failing rows."""
    colour = "yellow" if failed.status == "warn" else "red"
    column = f".{failed.column_name}" if failed.column_name else ""
    console.print(
        f"\n[{colour}]test {failed.status}:[/{colour}] {escape(failed.test_name)} "
        f"on {escape(failed.tested + column)}",
        highlight=False,
    )
    if failed.message:
        console.print(_indent(failed.message), highlight=False, markup=False)
    if failed.examples is not None:
        for line in example_lines(failed.examples, failed.failures):
            console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
        if failed.relation_name:
            console.print(
                f"    all failing rows: select * from {failed.relation_name}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def example_lines(examples: ExampleRows, failures: int | None) -> list[str]:
    """``column=value`` lines, one per stored failing row."""
    if not examples.rows:
        return ["(no failing rows stored)"]
    shown = f"{len(examples.rows)} of {failures}" if failures else str(len(examples.rows))
    lines = [f"example rows ({shown}):"]
    for row in examples.rows:
        pairs = (
            f"{name}={_short(value)}" for name, value in zip(examples.columns, row, strict=True)
        )
        lines.append("  " + ", ".join(pairs))
    return lines


def print_cohort(console: Console, result: BuildResult) -> None:
    cohort = result.cohort
    assert cohort is not None
    table = Table()
    table.add_column("cytogenetic risk")
    table.add_column("patients", justify="right")
    table.add_column("excluded", justify="right")
    for group in cohort.by_risk:
        table.add_row(escape(group.cytogenetic_risk), str(group.patients), str(group.excluded))
    console.print(
        f"\nmarts.cohort_patients: {cohort.patients} patients, {cohort.excluded} excluded",
        highlight=False,
    )
    console.print(table)


def _build_order(resource_type: str) -> tuple[int, str]:
    known = list(_PLURALS)
    rank = known.index(resource_type) if resource_type in known else len(known)
    return rank, resource_type


def _short(value: object) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= MAX_VALUE_WIDTH else text[: MAX_VALUE_WIDTH - 1] + "…"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())
