"""Pseudonymisation at ingest: patient ids become keyed hashes before anything is stored.

Why a *keyed* hash: patient ids are short and guessable (``P001`` … ``P999``), so a plain
SHA-256 of an id is reversed by hashing every candidate. HMAC-SHA-256 with a secret key
(RFC 2104) cannot be recomputed without the key, and the key never enters the
warehouse: only the data owner, who keeps it, can map a real id to its pseudonym.

Format (documented for users in ``docs/raw-contract.md``, section "Pseudonymisation")::

    pseudonym = "PS-" + hmac_sha256(key, cleaned_id.encode("utf-8")).hexdigest()[:20]

20 hex digits are 80 bits: a collision among even a million ids has a probability below
1e-12. ``cleaned_id`` is the id after the cleaning dbt staging applies (macro
``clean_text``: ``nullif(trim(patient_id), '')``), so ``" P001"`` and ``"P001"``, which
staging treats as one patient, get one pseudonym; NULL and blank ids are left as they
are for the quality checks to report.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

import duckdb

from pipelines.errors import CohortError, ExitCode

#: Environment variable holding the key when no key file is given.
KEY_VARIABLE = "COHORT_PSEUDONYM_KEY"
#: Shorter keys can be brute-forced from the pseudonyms and a list of plausible ids.
MIN_KEY_LENGTH = 32
PSEUDONYM_PREFIX = "PS-"
PSEUDONYM_HEX_DIGITS = 20
#: HMAC of this fixed message identifies a key (``raw.batches.pseudonym_key_check``)
#: without revealing it, so a later batch with another key can be refused.
KEY_CHECK_MESSAGE = b"cohort-pseudonym-key-check"
KEY_CHECK_HEX_DIGITS = 16
#: Violation rules of a refused ingest (see ``pipelines.ingest``).
KEY_RULE = "pseudonym_key"
MIXED_RULE = "pseudonymisation_mixed"

#: The characters DuckDB's ``trim()`` removes: Unicode category Zs (space separators),
#: not tabs or line breaks. ``tests/unit/test_pseudonym.py`` checks this against DuckDB.
SPACE_SEPARATORS = (
    "\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u202f\u205f\u3000"
)
#: Staging's ``clean_text`` macro (dbt_project/macros/casting.sql) applied to patient_id.
CLEANED_ID_SQL = "nullif(trim(patient_id), '')"


class PseudonymKeyError(CohortError, ValueError):
    """No usable key: pseudonymisation was requested, so nothing may be written."""

    exit_code = ExitCode.BAD_INPUT


class PseudonymKey(bytes):
    """The key, with a representation that does not show it.

    Tracebacks that print local variables (typer's, ``pytest --showlocals``) would
    otherwise write the key to a terminal or CI log.
    """

    def __repr__(self) -> str:
        return f"<pseudonym key, check {key_check(self)}>"

    __str__ = __repr__


def load_key(key_file: Path | None, *, environ: Mapping[str, str] | None = None) -> bytes:
    """Read the key from ``key_file`` if given, else from ``$COHORT_PSEUDONYM_KEY``.

    The file wins so that a key kept in a protected file is not silently overridden by
    a variable left in a shell. Trailing line breaks are removed (editors add one);
    nothing else is, so the key is used exactly as written.

    Raises :class:`PseudonymKeyError` when there is no key or it is too short.
    """
    environ = os.environ if environ is None else environ
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise PseudonymKeyError(f"cannot read the key file {key_file}: {reason}") from error
        source = f"the key file {key_file}"
    else:
        text = environ.get(KEY_VARIABLE, "")
        source = f"${KEY_VARIABLE}"
    text = text.rstrip("\r\n")
    if not text:
        raise PseudonymKeyError(
            f"no pseudonym key: {source} is empty or unset; set {KEY_VARIABLE} "
            "or pass --pseudonym-key-file"
        )
    key = PseudonymKey(text.encode("utf-8"))
    check_key(key, source=source)
    return key


def check_key(key: bytes, *, source: str = "the key") -> None:
    """Refuse keys shorter than :data:`MIN_KEY_LENGTH` characters.

    Ids follow known formats (``P001``, ``DSMM-017``): whoever sees the pseudonyms can
    guess an id and try keys until its pseudonym appears, which is quick for a short or
    typed-in key. Characters are counted on the UTF-8 text (other bytes count one each).
    """
    length = len(bytes(key).decode("utf-8", errors="surrogateescape"))
    if length < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"{source} has {length} characters; at least {MIN_KEY_LENGTH} are needed, "
            "because keyed hashes of short keys can be brute-forced from the ids "
            "(generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )


def clean_patient_id(patient_id: str | None) -> str | None:
    """The id as dbt staging sees it: trimmed of space separators, blank -> None."""
    if patient_id is None:
        return None
    return patient_id.strip(SPACE_SEPARATORS) or None


def pseudonym(key: bytes, patient_id: str) -> str:
    """The pseudonym of one patient id (cleaned first, as staging would clean it).

    This is how the data owner rebuilds the mapping from their own list of ids.

    >>> pseudonym(b"k" * 32, " P001") == pseudonym(b"k" * 32, "P001")
    True
    >>> pseudonym(b"k" * 32, "P001")[:3]
    'PS-'
    """
    cleaned = clean_patient_id(patient_id)
    if cleaned is None:
        raise ValueError("a blank patient id has no pseudonym; it is stored as delivered")
    return _keyed_hash(key, cleaned)


def key_check(key: bytes) -> str:
    """A short fingerprint of the key, stored per batch; it does not reveal the key."""
    digest = hmac.new(bytes(key), KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()
    return digest[:KEY_CHECK_HEX_DIGITS]


def pseudonymise_rows(
    con: duckdb.DuckDBPyConnection, table_name: str, batch_id: int, key: bytes
) -> int:
    """Replace ``patient_id`` in the rows one batch wrote to ``raw.<table_name>``.

    The HMAC is computed in Python once per distinct delivered id (thousands, even for
    20 million expression rows) and applied by one ``update ... from`` a mapping table,
    so no row passes through Python. Cleaning uses DuckDB's own ``trim`` (the exact
    expression of staging). Returns the number of distinct delivered ids replaced.
    """
    rows = con.execute(
        f"select distinct patient_id, {CLEANED_ID_SQL} from raw.{table_name} "
        f"where _batch_id = ? and {CLEANED_ID_SQL} is not null",
        [batch_id],
    ).fetchall()
    if not rows:
        return 0
    delivered = [row[0] for row in rows]
    pseudonyms = [_keyed_hash(key, row[1]) for row in rows]
    con.execute(
        "create or replace temp table pseudonym_map as "
        "select unnest(?::varchar[]) as delivered_id, unnest(?::varchar[]) as pseudonym",
        [delivered, pseudonyms],
    )
    con.execute(
        f"update raw.{table_name} as delivered set patient_id = pseudonym_map.pseudonym "
        "from pseudonym_map "
        "where delivered._batch_id = ? and delivered.patient_id = pseudonym_map.delivered_id",
        [batch_id],
    )
    con.execute("drop table pseudonym_map")
    return len(rows)


def _keyed_hash(key: bytes, cleaned_id: str) -> str:
    digest = hmac.new(bytes(key), cleaned_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]
