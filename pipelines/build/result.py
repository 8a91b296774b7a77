"""What a build did, node by node, as plain frozen data (no dbt objects escape).

:func:`summarise_run` turns the object ``dbtRunner().invoke`` returns into a
:class:`BuildResult`. It only reads attributes, so unit tests can pass a hand-built
stand-in instead of running dbt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.build.settings import BuildSettings

#: dbt node statuses that make a build fail (``RunStatus.Error``, ``TestStatus.Fail``).
#: ``skipped`` follows from an upstream error, which already counts; ``warn`` is a test
#: configured with ``severity: warn`` and is reported without failing the build.
FAILING_STATUSES = frozenset({"error", "fail"})
#: Test statuses whose stored failing rows are worth showing. An errored test is left
#: out: its stored-failures table, if any, is from an earlier run.
STATUSES_WITH_ROWS = frozenset({"fail", "warn"})
#: Example rows shown per failing test.
EXAMPLE_ROW_LIMIT = 5


@dataclass(frozen=True)
class NodeResult:
    """One seed, model or test as dbt reported it."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    failures: int | None
    message: str | None
    execution_seconds: float


@dataclass(frozen=True)
class ExampleRows:
    """A few of the rows a test stored as failing (``store_failures: true``)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class FailedTest:
    """A test that failed, errored or warned, with what it tests and example rows."""

    unique_id: str
    test_name: str
    tested: str
    column_name: str | None
    status: str
    failures: int | None
    message: str | None
    relation_name: str | None
    examples: ExampleRows | None


@dataclass(frozen=True)
class RiskGroupCount:
    cytogenetic_risk: str
    patients: int
    excluded: int


@dataclass(frozen=True)
class CohortCounts:
    """Patients of ``marts.cohort_patients`` by cytogenetic risk group."""

    patients: int
    excluded: int
    by_risk: tuple[RiskGroupCount, ...]


@dataclass(frozen=True)
class BuildResult:
    """Everything ``cohort build`` reports.

    Timings: ``wall_seconds`` is the whole call (checks, dbt, reading failures and
    counts); ``dbt_seconds`` is the ``dbtRunner.invoke`` call alone (parse, compile,
    execute, write artifacts); ``dbt_elapsed_seconds`` is dbt's own timer of its
    execution phase; :attr:`node_seconds` sums the nodes' execution times (threads
    overlap, so it can exceed the elapsed time).
    """

    db_path: Path
    build_dir: Path
    settings: BuildSettings
    nodes: tuple[NodeResult, ...]
    failed_tests: tuple[FailedTest, ...]
    dbt_success: bool
    error: str | None
    wall_seconds: float
    dbt_seconds: float
    dbt_elapsed_seconds: float | None
    cohort: CohortCounts | None = None

    @property
    def success(self) -> bool:
        """True only if dbt ran, said so, and no node errored or failed."""
        return (
            self.dbt_success
            and self.error is None
            and not any(node.status in FAILING_STATUSES for node in self.nodes)
        )

    @property
    def node_seconds(self) -> float:
        return sum(node.execution_seconds for node in self.nodes)

    @property
    def errored_nodes(self) -> tuple[NodeResult, ...]:
        """Seeds and models (not tests) that errored, e.g. a SQL error in a model."""
        return tuple(
            node
            for node in self.nodes
            if node.status in FAILING_STATUSES and node.resource_type not in {"test", "unit_test"}
        )

    def status_counts(self) -> dict[str, Counter[str]]:
        """``{resource_type: Counter(status)}``, e.g. ``{"test": {"pass": 40, "fail": 1}}``."""
        counts: dict[str, Counter[str]] = {}
        for node in self.nodes:
            counts.setdefault(node.resource_type, Counter())[node.status] += 1
        return counts


ExampleReader = Callable[[str], ExampleRows | None]


def summarise_run(
    dbt_result: Any,
    *,
    db_path: Path,
    build_dir: Path,
    settings: BuildSettings,
    dbt_seconds: float,
    read_examples: ExampleReader,
) -> BuildResult:
    """Turn a ``dbtRunnerResult`` into a :class:`BuildResult` (``wall_seconds`` = dbt's).

    ``read_examples(relation_name)`` is called for each failed or warned test; the
    runner reads the stored failures with DuckDB after dbt has released the file.
    """
    execution = dbt_result.result
    raw_nodes = list(getattr(execution, "results", None) or [])
    nodes = tuple(_node_result(raw) for raw in raw_nodes)
    failed = tuple(
        _failed_test(raw, node, read_examples)
        for raw, node in zip(raw_nodes, nodes, strict=True)
        if node.resource_type == "test" and node.status in FAILING_STATUSES | STATUSES_WITH_ROWS
    )
    exception = dbt_result.exception
    return BuildResult(
        db_path=db_path,
        build_dir=build_dir,
        settings=settings,
        nodes=nodes,
        failed_tests=failed,
        dbt_success=bool(dbt_result.success),
        error=_exception_text(exception) if exception is not None else None,
        wall_seconds=dbt_seconds,
        dbt_seconds=dbt_seconds,
        dbt_elapsed_seconds=getattr(execution, "elapsed_time", None),
    )


def _node_result(raw: Any) -> NodeResult:
    node = raw.node
    return NodeResult(
        unique_id=node.unique_id,
        resource_type=_text(node.resource_type),
        name=node.name,
        status=_text(raw.status),
        failures=raw.failures,
        message=raw.message,
        execution_seconds=float(raw.execution_time or 0.0),
    )


def _failed_test(raw: Any, node: NodeResult, read_examples: ExampleReader) -> FailedTest:
    dbt_node = raw.node
    relation_name = getattr(dbt_node, "relation_name", None)
    examples = None
    if relation_name and node.status in STATUSES_WITH_ROWS:
        examples = read_examples(relation_name)
    return FailedTest(
        unique_id=node.unique_id,
        test_name=node.name,
        tested=_tested_names(dbt_node),
        column_name=getattr(dbt_node, "column_name", None),
        status=node.status,
        failures=node.failures,
        message=node.message,
        relation_name=relation_name,
        examples=examples,
    )


def _tested_names(dbt_node: Any) -> str:
    """The model (or seed, source) a test is about: its attached node, else its refs.

    Generic tests are attached to the node they are defined on; a singular test is not,
    so its dependencies stand in.
    """
    attached = getattr(dbt_node, "attached_node", None)
    depends_on = getattr(getattr(dbt_node, "depends_on", None), "nodes", None) or []
    unique_ids: Iterable[str] = [attached] if attached else depends_on
    return ", ".join(_short_name(unique_id) for unique_id in unique_ids) or "?"


def _short_name(unique_id: str) -> str:
    """``model.cohort.cohort_patients`` -> ``cohort_patients``; sources keep ``raw.x``."""
    parts = unique_id.split(".", 2)
    return parts[2] if len(parts) == 3 else unique_id


def _text(value: Any) -> str:
    """dbt's statuses and resource types are str enums; keep their plain value."""
    return str(getattr(value, "value", value))


def _exception_text(exception: BaseException) -> str:
    text = str(exception).strip()
    return f"{type(exception).__name__}: {text}" if text else type(exception).__name__
