"""The examples in the docstrings of ``analysis/`` run and print what they show.

Like polars, the statistics document themselves with examples; this runs them under
``make test`` (every module of the package, found by walking it, so a new module is
included without a change here). Flags as pytest's ``--doctest-modules`` default:
``ELLIPSIS`` only, so an example shows exactly what a user would see.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import analysis

OPTION_FLAGS = doctest.ELLIPSIS


def analysis_modules() -> list[str]:
    found = pkgutil.walk_packages(analysis.__path__, prefix=f"{analysis.__name__}.")
    return sorted([analysis.__name__, *(module.name for module in found)])


def docstring_examples(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    return doctest.DocTestFinder(exclude_empty=True).find(module, module_name)


@pytest.mark.parametrize("module_name", analysis_modules())
def test_docstring_examples_run(module_name: str):
    runner = doctest.DocTestRunner(optionflags=OPTION_FLAGS)
    report: list[str] = []
    for example in docstring_examples(module_name):
        runner.run(example, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_the_examples_are_found():
    examples = [
        example
        for module_name in analysis_modules()
        for test in docstring_examples(module_name)
        for example in test.examples
    ]
    assert examples, "no docstring example found in analysis/"
