"""The project's own view, table and test materializations, guarded.

``dbt_project/macros/materializations/replace_in_place.sql`` replaces dbt's stock ones
with one ``create or replace`` per node (docs/performance.md). Two guards keep that
from going wrong silently:

* a model that uses a config the stock materializations act on and the project's skip
  fails the build, naming the model and the config (a tiny dbt project with the
  project's materializations and one model per unsupported config, built through the
  product's dbt runner);
* the stock sources they replace or copy still hash as they did when the project's
  versions were last reviewed against them, so a dbt-adapters or dbt-duckdb upgrade
  that changes one fails here with what to re-check.

The end-to-end path (a refused model makes ``cohort build`` exit 3 and print the
message) is in test_build.py.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.build import PROJECT_DIR
from pipelines.build.runner import invoke_dbt

MATERIALIZATIONS = PROJECT_DIR / "macros" / "materializations" / "replace_in_place.sql"
PROBE_PROJECT = "materialization_probe"

# --- the guard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """A model file of the probe project and what the guard must say about it."""

    name: str
    body: str
    uses: str  # the configs the message lists, in the macro's order
    materialization: str
    suffix: str = ".sql"


REFUSED = (
    Refused(
        "python_table",
        "def model(dbt, session):\n"
        '    dbt.config(materialized="table")\n'
        '    return session.sql("select 1 as id")\n',
        uses="language python",
        materialization="table",
        suffix=".py",
    ),
    Refused(
        "python_view",
        "def model(dbt, session):\n"
        '    dbt.config(materialized="view")\n'
        '    return session.sql("select 1 as id")\n',
        uses="language python",
        materialization="view",
        suffix=".py",
    ),
    Refused(
        "contract_table",
        "{{ config(materialized='table', contract={'enforced': true}) }}\nselect 1 as id\n",
        uses="contract enforced",
        materialization="table",
    ),
    Refused(
        "contract_view",
        "{{ config(materialized='view', contract={'enforced': true}) }}\nselect 1 as id\n",
        uses="contract enforced",
        materialization="view",
    ),
    Refused(
        "persist_docs_table",
        "{{ config(materialized='table', persist_docs={'columns': true}) }}\nselect 1 as id\n",
        uses="persist_docs",
        materialization="table",
    ),
    Refused(
        "grants_and_header_view",
        "{{ config(materialized='view', grants={'select': ['analyst']},\n"
        "          sql_header='set threads = 1;') }}\nselect 1 as id\n",
        uses="grants, sql_header",
        materialization="view",
    ),
    Refused(
        "indexes_table",
        "{{ config(materialized='table', indexes=[{'columns': ['id']}]) }}\nselect 1 as id\n",
        uses="indexes",
        materialization="table",
    ),
    Refused(
        "ducklake_layout_table",
        "{{ config(materialized='table', partitioned_by='id', sort_by=['id']) }}\nselect 1 as id\n",
        uses="partitioned_by, sort_by",
        materialization="table",
    ),
)

#: Configs the stock materializations would ignore too, or that are switched off: built.
ACCEPTED = {
    "neutral_table": (
        "{{ config(materialized='table', contract={'enforced': false},\n"
        "          persist_docs={'relation': false, 'columns': false}, grants={}, indexes=[],\n"
        "          pre_hook='select 1', post_hook='select 2') }}\nselect 1 as id\n"
    ),
    # dbt's stock view creates no indexes either.
    "indexes_on_a_view": (
        "{{ config(materialized='view', indexes=[{'columns': ['id']}]) }}\nselect 1 as id\n"
    ),
}

CONTRACTS_YML = """\
models:
  - name: contract_table
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: not_null
  - name: contract_view
    columns:
      - name: id
        data_type: integer
  - name: persist_docs_table
    description: A model whose column comments would be persisted.
    columns:
      - name: id
        description: The id.
"""


@dataclass(frozen=True)
class ProbeBuild:
    results: dict[str, tuple[str, str]]  # model name -> (status, message)
    manifest: Any
    db_path: Path


def write_probe_project(folder: Path) -> None:
    """A project with the product's materializations and one model per case."""
    (folder / "macros").mkdir(parents=True)
    shutil.copy(MATERIALIZATIONS, folder / "macros" / MATERIALIZATIONS.name)
    (folder / "dbt_project.yml").write_text(
        textwrap.dedent(f"""\
            name: {PROBE_PROJECT}
            version: "1.0.0"
            config-version: 2
            profile: {PROBE_PROJECT}
            flags:
              send_anonymous_usage_stats: false
            """),
        encoding="utf-8",
    )
    (folder / "profiles.yml").write_text(
        textwrap.dedent(f"""\
            {PROBE_PROJECT}:
              target: probe
              outputs:
                probe:
                  type: duckdb
                  path: "{{{{ env_var('COHORT_DB_PATH') }}}}"
                  threads: 1
            """),
        encoding="utf-8",
    )
    models = folder / "models"
    models.mkdir()
    for case in REFUSED:
        (models / f"{case.name}{case.suffix}").write_text(case.body, encoding="utf-8")
    for name, body in ACCEPTED.items():
        (models / f"{name}.sql").write_text(body, encoding="utf-8")
    (models / "_probe__models.yml").write_text(CONTRACTS_YML, encoding="utf-8")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> ProbeBuild:
    folder = tmp_path_factory.mktemp("materialization_probe")
    project = folder / "project"
    write_probe_project(project)
    db_path = folder / "probe.duckdb"
    locations = [
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(folder / "target"),
        "--log-path",
        str(folder / "logs"),
        "--log-level",
        "none",
    ]
    parsed = invoke_dbt(["parse", *locations], db_path)
    assert parsed.success, parsed.exception
    built = invoke_dbt(["build", *locations], db_path)
    assert built.exception is None, built.exception
    results = {
        result.node.name: (str(result.status), result.message or "")
        for result in built.result.results
    }
    return ProbeBuild(results, parsed.result, db_path)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_a_model_with_an_unsupported_config_fails_naming_the_model_and_config(
    probe: ProbeBuild, case: Refused
):
    status, message = probe.results[case.name]
    assert status == "error"
    expected = (
        f"model '{case.name}' (models/{case.name}{case.suffix}) uses {case.uses}, which "
        f"the project's {case.materialization} materialization "
        "(dbt_project/macros/materializations/replace_in_place.sql) does not support"
    )
    assert expected in " ".join(message.split()), message


@pytest.mark.integration
@pytest.mark.slow
def test_configs_that_are_off_or_ignored_by_dbt_too_still_build(probe: ProbeBuild):
    assert {name: probe.results[name][0] for name in ACCEPTED} == dict.fromkeys(ACCEPTED, "success")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("materialization", ["view", "table", "test"])
def test_dbt_picks_the_projects_materializations_over_the_stock_ones(
    probe: ProbeBuild, materialization: str
):
    """Otherwise an upgrade could quietly switch back to the stock ones (and past the guard)."""
    macro = probe.manifest.find_materialization_macro_by_name(
        PROBE_PROJECT, materialization, "duckdb"
    )
    assert macro.package_name == PROBE_PROJECT, macro.unique_id
    assert macro.original_file_path == f"macros/{MATERIALIZATIONS.name}"


# --- the stock sources -----------------------------------------------------------------


@dataclass(frozen=True)
class StockSource:
    """One macro or materialization block in an installed distribution."""

    distribution: str
    path: str
    kind: str  # "macro" or "materialization"
    header: str  # the block's name as its opening tag spells it
    sha256: str
    why: str  # what the project's materializations take from it

    def text(self) -> str:
        file = Path(str(importlib.metadata.distribution(self.distribution).locate_file(self.path)))
        source = file.read_text(encoding="utf-8")
        opening = rf"\{{%-?\s*{self.kind}\s+{re.escape(self.header)}"
        block = re.compile(rf"{opening}.*?\{{%-?\s*end{self.kind}\s*-?%\}}", re.DOTALL)
        found = [match.group(0) for match in block.finditer(source)]
        assert len(found) == 1, f"{self.path}: {len(found)} blocks `{self.kind} {self.header}`"
        return found[0]


#: The releases whose sources the project's materializations were last reviewed against.
REVIEWED_RELEASES = {"dbt-adapters": "1.24.5", "dbt-duckdb": "1.11.1"}

STOCK_SOURCES = (
    StockSource(
        "dbt-adapters",
        "dbt/include/global_project/macros/materializations/models/view.sql",
        "materialization",
        "view, default",
        "e5e020732cff4f18aba80e75aa216e569a082f77d1f602d4eafa73fa07e6d9fb",
        "replaced by the project's view: which configs it acts on (grants, persist_docs)",
    ),
    StockSource(
        "dbt-adapters",
        "dbt/include/global_project/macros/materializations/models/table.sql",
        "materialization",
        "table, default",
        "4020993d1560195b4f741f4970f99703e543697d384c83082574168613403837",
        "replaced by the project's table: which configs it acts on (grants, indexes, persist_docs)",
    ),
    StockSource(
        "dbt-duckdb",
        "dbt/include/duckdb/macros/materializations/table.sql",
        "materialization",
        'table, adapter="duckdb"',
        "c129c8e89bef32844f3316ce07a42da645bc140245acc1b1a4b9f606b9840eb4",
        "replaced by the project's table: which configs and languages it acts on (Python, "
        "partitioned_by, sorted_by, indexes, foreign keys, DuckLake)",
    ),
    StockSource(
        "dbt-duckdb",
        "dbt/include/duckdb/macros/adapters.sql",
        "macro",
        "duckdb__create_table_as(",
        "b4dea2de26f9b04804f1aa9a3886307dbd4265d462e8759f4314131010f54b93",
        "the SQL the stock table runs, which the project's writes itself: contract, "
        "sql_header, partitioned_by/sorted_by",
    ),
    StockSource(
        "dbt-duckdb",
        "dbt/include/duckdb/macros/adapters.sql",
        "macro",
        "duckdb__create_view_as(",
        "30447e09712101115e3e99d247efc53942682a9532429fe86242c5999c2c428f",
        "the SQL the stock view runs, which the project's writes itself: contract, sql_header",
    ),
    StockSource(
        "dbt-adapters",
        "dbt/include/global_project/macros/materializations/tests/test.sql",
        "materialization",
        "test, default",
        "4683bd327eafd1708cfeba76b9e79cf098415d37142103b9a759d68682db5ba8",
        "copied into the project's test, with the stored failures replaced in one statement: "
        "port every other change",
    ),
    StockSource(
        "dbt-adapters",
        "dbt/include/global_project/macros/relations/create.sql",
        "macro",
        "default__get_create_sql(",
        "454d08d2eb27160d892c99dd5b5b99fc5c2a9dd6680a835e35b93f2b49ef9f0a",
        "how the stock test creates its failures relation, which the project's test does "
        "with `create or replace`",
    ),
)


@pytest.mark.parametrize(
    "source", STOCK_SOURCES, ids=[f"{s.distribution}:{s.header}" for s in STOCK_SOURCES]
)
def test_the_stock_materialization_sources_are_the_reviewed_ones(source: StockSource):
    digest = hashlib.sha256(source.text().encode("utf-8")).hexdigest()
    version = importlib.metadata.version(source.distribution)
    assert digest == source.sha256, (
        f"`{source.kind} {source.header}` in {source.distribution} {version} ({source.path}) "
        f"changed since {source.distribution} {REVIEWED_RELEASES[source.distribution]}, "
        f"the release the project's materializations were reviewed against. It is "
        f"{source.why}. Diff the two releases' file, then in "
        f"dbt_project/macros/materializations/replace_in_place.sql: (1) a config, language "
        f"or relation the stock one now acts on goes into refuse_unsupported_model_configs "
        f"and into REFUSED above; (2) a change to the test materialization is ported into "
        f"the copy; (3) if the stock one now replaces in one statement itself, drop the "
        f"override and compare with benchmarks/build.py. Then record sha256 {digest} and "
        f"the release here."
    )
