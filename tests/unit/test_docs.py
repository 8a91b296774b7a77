"""Every command is in the README's command table and in the docs (sqlite-utils' pattern).

The commands are read from the typer app, so a new command fails here until it is
documented. A mention in the docs is ``cohort NAME`` in code (inline or a fenced block),
so prose such as "the whole-cohort results" does not count for ``cohort results``.
"""

from __future__ import annotations

import re

import pytest
import typer

from pipelines.cli import app
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS_DIR = REPO_ROOT / "docs"
#: A row of the README's command table: ``| `cohort NAME ...` | does |``.
TABLE_ROW = re.compile(r"^\|\s*`cohort ([a-z][a-z0-9-]*)\b", re.MULTILINE)
FENCED_BLOCK = re.compile(r"```.*?```", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(
        name
        for name, command in group.commands.items()  # type: ignore[attr-defined]
        if not command.hidden
    )


def readme_command_table() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return TABLE_ROW.findall(section)


def docs_code() -> dict[str, str]:
    """The code (fenced blocks and inline spans) of each page under docs/."""
    pages = {}
    for page in sorted(DOCS_DIR.glob("**/*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = FENCED_BLOCK.findall(text)
        spans = INLINE_CODE.findall(FENCED_BLOCK.sub("", text))
        pages[str(page.relative_to(REPO_ROOT))] = "\n".join([*blocks, *spans])
    return pages


def mentions(code: str, command: str) -> bool:
    return re.search(rf"\bcohort {re.escape(command)}(?![\w-])", code) is not None


@pytest.mark.parametrize("command", command_names())
def test_command_is_in_the_readme_command_table(command: str):
    assert command in readme_command_table(), f"add `cohort {command}` to README.md ## Commands"


@pytest.mark.parametrize("command", command_names())
def test_command_is_in_the_docs(command: str):
    pages = [page for page, code in docs_code().items() if mentions(code, command)]
    assert pages, f"no page under docs/ shows `cohort {command}`"


def test_the_readme_command_table_names_only_commands_that_exist():
    table = readme_command_table()
    assert sorted(set(table)) == sorted(table), "a command is in the table twice"
    assert set(table) <= set(command_names())
