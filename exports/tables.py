"""Streaming a table out of the database into an export file, serialised by the database.

Contract: a :class:`Table` names its exported columns as SQL expressions (pseudonyms, times and
booleans already in their exported form) plus, optionally, a few columns computed in Python from
``keys`` (keyed pseudonyms, splits, image paths, which SQL cannot compute). :func:`write_table`
streams it page by page from a DB-API cursor (a named, server-side cursor on PostgreSQL) into a
format's sink (:mod:`exports.formats`) and returns the row count. Nothing is held beyond one page.

Why the database serialises: steps and verdicts run to millions of rows, and a Python dict (or
a Python value per cell, for Arrow) costs several times the scan. The SELECT builds each line
(``json_object`` on SQLite, ``json_build_object`` on PostgreSQL), Python only joins the lines (and
appends the computed members to each object), and the sink takes the lines as they are (JSON
lines) or converts them (Parquet: pyarrow's C++ JSON reader turns a page of lines into Arrow
columns of the table's exact schema).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import String, Text, case, cast, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from exports.formats import Sink
from exports.writers import dumps_line

PAGE = 5000
I64, F64, STR, BOOL = pa.int64(), pa.float64(), pa.string(), pa.bool_()
STR_LIST = pa.list_(pa.string())


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any  # SQL expression giving the exported value
    type: pa.DataType
    kind: str = "plain"  # plain | bool | json: how SQLite's stored value becomes a JSON value


@dataclass(frozen=True)
class Table:
    """An exported table: SQL columns, then the ``computed`` ones (``compute(keys)``)."""

    name: str
    columns: tuple[Column, ...]
    source: Any  # the FROM clause (a table or a join)
    where: tuple[Any, ...]
    order_by: Any
    main: Any  # the stored table (its raw columns are the benchmark's bare scan)
    keys: tuple[Any, ...] = ()
    computed: tuple[tuple[str, pa.DataType], ...] = ()
    compute: Callable[[Sequence[Any]], Sequence[Any]] | None = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns] + list(self.computed))

    def scan_select(self) -> Any:
        return select(*self.main.columns).select_from(self.source).where(*self.where).order_by(self.order_by)

    def _select(self, *exprs: Any) -> Any:
        return select(*self.keys, *exprs).select_from(self.source).where(*self.where).order_by(self.order_by)


class Dialect:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def ts(self, col: Any) -> Any:
        """ISO 8601 UTC text of a timestamp (stored as naive UTC)."""
        if self.pg:
            return func.to_char(col, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        raw = type_coerce(col, String)  # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.replace(raw, " ", "T").op("||")("Z")

    def date(self, col: Any) -> Any:
        return func.to_char(col, "YYYY-MM-DD") if self.pg else type_coerce(col, String)

    def json_line(self, columns: Sequence[Column]) -> Any:
        args: list[Any] = []
        for c in columns:
            value = c.expr
            if not self.pg and c.kind == "bool":
                value = func.json(case((value, "true"), else_="false"))
            elif not self.pg and c.kind == "json":
                value = func.json(value)
            args.extend((literal(c.name), value))
        if self.pg:  # as text: psycopg would parse a json value back into a dict
            return cast(func.json_build_object(*args), Text)
        return func.json_object(*args)


def raw(col: Any) -> Any:
    """A column without SQLAlchemy's result processing (enum and JSON values come back as stored)."""
    return type_coerce(col, String)


def mapped(col: Any, mapping: dict[int, str]) -> Any:
    """``CASE col WHEN id THEN value ... END``: a small id -> pseudonym table applied in SQL."""
    if not mapping:
        return literal(None, String)
    return case(mapping, value=col, else_=literal(None, String))


def raw_pages(session: Session, stmt: Any, page: int = PAGE) -> Iterator[list[tuple]]:
    """Rows of ``stmt`` in pages of plain tuples, straight from the DB-API cursor.

    Why not ``Result.partitions``: at millions of rows SQLAlchemy's Row objects cost as much as
    the scan. The statement is compiled with its (few, export-generated) parameters rendered as
    literals, and runs in the session's transaction, so it sees the same snapshot. On PostgreSQL
    the cursor is a named, server-side one: rows arrive ``page`` at a time.
    """
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"chestx_export_{id(stmt):x}")
        cursor.itersize = page
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(page):
            yield rows
    finally:
        cursor.close()


def _lines(page: list[tuple], table: Table, names: list[str]) -> bytes:
    """JSON lines of a page: the database's objects, with the computed members spliced in."""
    nk = len(table.keys)
    if table.compute is None:
        lines = [r[0] for r in page]
    else:  # '{...sql...}' + ',"name":value,...}' computed in Python
        lines = [f"{r[nk][:-1]},{_members(names, table.compute(r[:nk]))}}}" for r in page]
    return ("\n".join(lines) + "\n").encode()


def _members(names: Sequence[str], values: Sequence[Any]) -> str:
    """``"a":1,"b":"x"``: JSON object members, without the braces."""
    return dumps_line(dict(zip(names, values, strict=True)))[1:-2].decode()


def write_table(
    session: Session,
    table: Table,
    sink: Sink,
    d: Dialect,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream ``table`` into ``sink`` (opened with ``table.schema``); returns the number of rows.

    Every page is fetched as JSON lines; a second thread hands them to the sink (which writes
    them as they are, or parses and writes them) while the next page is fetched: hashing,
    compression and Arrow's JSON reader release the GIL, so on two cores the fetch and the write
    overlap.
    """
    names = [name for name, _ in table.computed]
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"export-{table.name}") as worker:
        for page in raw_pages(session, table._select(d.json_line(table.columns))):
            pending.append(worker.submit(sink.write_lines, _lines(page, table, names), len(page)))
            while len(pending) > 2:  # at most two pages in flight: memory stays bounded
                pending.popleft().result()
            if progress:
                progress(len(page))
        while pending:
            pending.popleft().result()
    sink.close()
    return sink.rows
