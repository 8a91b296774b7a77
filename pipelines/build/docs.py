"""``dbt docs generate --static``: the project's documentation as one offline HTML file.

The static page embeds the manifest and catalog, so it opens from disk without a web
server. It is checked for references to remote assets (CDNs): the product must work on
air-gapped machines, and a page that silently loads scripts from the internet would
not (and would leak that someone opened it).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.build.runner import (
    BuildRefused,
    dbt_location_args,
    default_build_dir,
    invoke_dbt,
)
from pipelines.build.settings import BuildSettings
from pipelines.errors import CohortError, ExitCode

#: Tags and CSS rules that make a browser fetch an asset, when their target is remote
#: (``http://``, ``https://`` or protocol-relative ``//``). Plain links a user may click
#: (``<a href>``) and URLs inside script strings are not fetches.
REMOTE_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)\s*=\s*["']?"""
    r"""((?:https?:)?//[^"'\s>]+)"""
    r"""|url\(\s*["']?((?:https?:)?//[^"'\s)]+)"""
    r"""|@import\s+["']((?:https?:)?//[^"'\s]+)""",
    re.IGNORECASE,
)
#: The docs page loads dbt's usage tracker (a script from a CDN) only when the embedded
#: manifest says usage statistics are on; the project switches them off.
TRACKING_ON = re.compile(r'"send_anonymous_usage_stats"\s*:\s*true')


class DocsError(CohortError, RuntimeError):
    """dbt could not generate the documentation (the message says why)."""

    exit_code = ExitCode.BUILD_FAILED


@dataclass(frozen=True)
class DocsResult:
    index_html: Path
    remote_assets: tuple[str, ...]


def default_docs_dir(db_path: Path) -> Path:
    return default_build_dir(db_path) / "docs"


def generate_docs(
    db_path: Path,
    *,
    out_dir: Path | None = None,
    settings: BuildSettings | None = None,
    build_dir: Path | None = None,
) -> DocsResult:
    """Generate the static docs of the project on ``db_path`` into ``out_dir/index.html``.

    The catalog (column types) comes from the warehouse, so build first for complete
    docs. dbt's artifacts go to ``<build_dir>/docs_target``, apart from the build's
    ``target`` so that the two never mix.
    """
    db_path = db_path.resolve()
    if not db_path.is_file():  # dbt-duckdb would create an empty warehouse
        raise BuildRefused(f"no warehouse at {db_path}; run `cohort ingest` and `cohort build`")
    build_dir = (build_dir or default_build_dir(db_path)).resolve()
    out_dir = (out_dir or default_docs_dir(db_path)).resolve()
    target = build_dir / "docs_target"
    args = [
        "docs",
        "generate",
        "--static",
        *dbt_location_args(build_dir, target_dir=target),
        "--vars",
        json.dumps((settings or BuildSettings()).to_dbt_vars()),
    ]
    dbt_result = invoke_dbt(args, db_path)
    static_page = target / "static_index.html"
    if not dbt_result.success or not static_page.is_file():
        reason = dbt_result.exception or "see the dbt log in " + str(build_dir / "logs")
        raise DocsError(f"dbt docs generate failed: {reason}")
    out_dir.mkdir(parents=True, exist_ok=True)
    index_html = out_dir / "index.html"
    shutil.copyfile(static_page, index_html)
    return DocsResult(index_html, remote_assets(index_html.read_text(encoding="utf-8")))


def remote_assets(html: str) -> tuple[str, ...]:
    """Distinct remote assets the page would fetch when opened; empty means offline-safe.

    >>> remote_assets('<script src="https://cdn.example/x.js"></script><a href="https://x">')
    ('https://cdn.example/x.js',)
    """
    found = {
        next(group for group in match.groups() if group) for match in REMOTE_ASSET.finditer(html)
    }
    if TRACKING_ON.search(html):
        found.add("dbt docs usage tracking script (send_anonymous_usage_stats is true)")
    return tuple(sorted(found))
