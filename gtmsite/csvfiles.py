"""What is wrong with a CSV source, said at its file, line and column, with what to do.

DuckDB reads CSV files leniently and says little when it cannot: a row with one value too many can
silently turn the file into one text column, one `12k` among numbers turns the whole column into text
(then every `sum(amount)` fails), and its own errors are long, with the cause after the first line.
`load_problem` turns DuckDB's error into one located message; `table_problems` looks at a table just
loaded for those silent cases. Both read the file again only when something is wrong.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import Problem, undecodable
from .sqltext import quote_ident, quote_table

CSV_SUFFIXES = (".csv", ".tsv")
_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERT = re.compile(r'Error when converting column "(.+?)"\. Could not convert string "(.*?)" to \'(\w+)\'')
_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
# Numbers written for people, not machines, and the usual ways of writing "no value".
_NUMBERISH = re.compile(r"^[-+(]?\s*[$€£¥]?\s*\d[\d,._' ]*(\.\d+)?\s*[a-zA-Z%]{0,3}\)?$")
_PLACEHOLDERS = {"n/a", "na", "null", "none", "nil", "-", "--", "?", "tbd", "#n/a", "#value!", "#div/0!", "nan"}
_MAX_ODD_SHARE = 0.1  # a column is "mostly numbers" when at most this share of its values is not


def load_problem(rel: str, path: Path, exc: duckdb.Error) -> Problem:
    """The problem DuckDB met reading a CSV file, at its line, with the cause and what to do."""
    text = str(exc)
    found = _LINE.search(text)
    line = int(found.group(1)) if found else None
    sniffing = "error when sniffing file" in text.lower()
    if sniffing or "not utf-8 encoded" in text.lower() or "invalid unicode" in text.lower():
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return undecodable(rel, decode_error)
    if sniffing:
        return _unreadable_layout(rel, path)
    dialect = _sniffed(path)
    header = _header(path, **dialect)
    row = _row_at(path, line, **dialect) if line else None
    if row is not None and len(row) != len(header):  # DuckDB may call it a bad value: it is a bad row
        return Problem(rel, line, _ragged(len(row), header))
    convert = _CONVERT.search(text)
    if convert:
        column, value, kind = convert.groups()
        return Problem(rel, line, _not_like_the_others(path, column, value, kind))
    count = _COUNT.search(text)
    if count:
        return Problem(rel, line, _ragged(int(count.group(2)), header))
    return Problem(rel, line, f"cannot read this file as a table: {_cause(text)}")


def table_problems(con: duckdb.DuckDBPyConnection, rel: str, path: Path, table: str) -> list[Problem]:
    """Silent misreadings of a CSV file just loaded as `table`: an empty file, rows with more or fewer
    values than the header, and text columns that hold numbers (or dates) but for a few cells."""
    if path.stat().st_size < 16 and not path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip():
        return [Problem(rel, 1, "the file is empty; write a header line with the column names, then the rows")]
    columns = [(d[0], str(d[1])) for d in con.execute(f"select * from {quote_table(table)} limit 0").description]
    ragged = _ragged_row(path, [name for name, _ in columns])
    if ragged is not None:
        return [Problem(rel, *ragged)]
    text_columns = [name for name, kind in columns if kind == "VARCHAR"]
    return [Problem(rel, *_odd_cell(path, name, value, kind)) for name, value, kind in
            _mostly_typed(con, table, text_columns)]


def _unreadable_layout(rel: str, path: Path) -> Problem:
    """DuckDB could not tell the delimiter and quoting: mixed line endings are the usual cause."""
    data = path.read_bytes()
    endings = [m.group(0) for m in re.finditer(rb"\r\n|\r|\n", data)]
    if len(set(endings)) > 1:
        index = next(i for i, ending in enumerate(endings) if ending != endings[0])
        names = {b"\r\n": "\\r\\n", b"\n": "\\n", b"\r": "\\r"}
        return Problem(rel, index + 1, f"this line ends with {names[endings[index]]} but the first one with "
                                       f"{names[endings[0]]}; save the file with one kind of line ending")
    return Problem(rel, None, "cannot work out how this CSV file is laid out (its delimiter and quotes); make it "
                              "one header line of column names, then rows, all with the same delimiter")


def _cause(text: str) -> str:
    """DuckDB's message without the parser options, the possible solutions and the echoed SQL."""
    kept = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith(("Possible", "LINE ", "file =", "* ")) or " = " in stripped:
            break
        if stripped and not stripped.startswith("Original Line:"):
            kept.append(stripped)
    return " ".join(kept) or "DuckDB could not read it"


def _not_like_the_others(path: Path, column: str, value: str, kind: str) -> str:
    header = _header(path, **_sniffed(path))
    where = f"column {header.index(column) + 1} ({column})" if column in header else f"column {column}"
    return f"{where}: {value!r} is not {_kind_name(kind)} like the values above it; {_advice(kind)}"


def _kind_name(kind: str) -> str:
    kind = kind.upper()
    if kind in ("DATE",):
        return "a date"
    if kind.startswith("TIMESTAMP"):
        return "a timestamp"
    if kind == "BOOLEAN":
        return "true or false"
    return "a number"


def _advice(kind: str) -> str:
    kind = kind.upper()
    if kind == "DATE" or kind.startswith("TIMESTAMP"):
        return "write dates as 2026-01-31 (a time as 2026-01-31 14:05), or leave the cell empty"
    if kind == "BOOLEAN":
        return "write true or false, or leave the cell empty"
    return "write a plain number (12000, not 12k, $12,000 or 12 000), or leave the cell empty"


def _ragged(found: int, header: list[str]) -> str:
    return (f"this row has {found} values but the header has {len(header)} ({', '.join(header)}); quote a value "
            "that holds the delimiter (\"Acme, Inc.\"), or fix the row")


def _dialect(path: Path) -> dict:
    return {"delimiter": "\t" if path.suffix.lower() == ".tsv" else ","}


def _sniffed(path: Path) -> dict:
    """The delimiter DuckDB found (a .csv file may use ; or |), to read the file as DuckDB did."""
    try:
        with duckdb.connect() as con:
            (delimiter,) = con.execute("select Delimiter from sniff_csv($path)", {"path": str(path)}).fetchone()
    except duckdb.Error:
        return _dialect(path)
    return {"delimiter": delimiter} if len(delimiter) == 1 else _dialect(path)


def _rows(path: Path, **dialect: object) -> Iterator[tuple[int, list[str]]]:
    """Each record of the file with the line it ends on."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle, **{**_dialect(path), **dialect})
        for row in reader:
            yield reader.line_num, row


def _header(path: Path, **dialect: object) -> list[str]:
    return next((row for _, row in _rows(path, **dialect)), [])


def _row_at(path: Path, line: int, **dialect: object) -> list[str] | None:
    """The record that ends on `line` of the file."""
    for end, row in _rows(path, **dialect):
        if end >= line:
            return row if end == line else None
    return None


def _ragged_row(path: Path, columns: list[str]) -> tuple[int, str] | None:
    """A row with more or fewer values than the header, when DuckDB read the file differently from its
    header (it then reads one text column, or takes the odd row as the header): that row, located."""
    header = _header(path)
    generic = columns == [f"column{i}" for i in range(len(columns))]
    if columns == header or (len(columns) > len(header) and not generic) or len(header) < 2:
        return None
    for line, row in _rows(path):
        if row and len(row) != len(header):
            return line, _ragged(len(row), header)
    return None


def _typed_counts(con: duckdb.DuckDBPyConnection, source: str, names: list[str]) -> list[tuple[int, int, int]]:
    """Per column: its values, how many are numbers, how many are dates."""
    parts = []
    for name in names:
        col = quote_ident(name)
        parts += [f"count({col})", f"count(try_cast({col} as double))", f"count(try_cast({col} as date))"]
    counts = con.execute(f"select {', '.join(parts)} from {source}").fetchone()
    return [counts[3 * i:3 * i + 3] for i in range(len(names))]


def _mostly_typed(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> list[tuple[str, str, str]]:
    """Text columns whose values are numbers (or dates) but for a few: (column, first odd value, kind).
    Columns are looked at in full only when their first rows are numbers or dates (a text column costs
    a look at 2,048 values: a failed cast is slow)."""
    sample = _typed_counts(con, f"(select * from {quote_table(table)} limit 2048)", names) if names else []
    names = [n for n, (total, numbers, dates) in zip(names, sample) if total and max(numbers, dates) >= 0.5 * total]
    if not names:
        return []
    counts = _typed_counts(con, quote_table(table), names)
    found = []
    for name, (total, numbers, dates) in zip(names, counts):
        for kind, typed in (("DOUBLE", numbers), ("DATE", dates)):
            odd = total - typed
            if typed >= 2 and 0 < odd <= max(1, int(total * _MAX_ODD_SHARE)):
                value = _odd_values(con, table, name, kind)
                if value is not None:
                    found.append((name, value, kind))
                break
    return found


def _odd_values(con: duckdb.DuckDBPyConnection, table: str, name: str, kind: str) -> str | None:
    """The first odd value, when every odd value looks like a mistake (`12k`, `$1,200`, `n/a`) rather
    than a column of text that happens to hold many numbers (`A-113`, product codes)."""
    col = quote_ident(name)
    cast = "double" if kind == "DOUBLE" else "date"
    odd = [v for (v,) in con.execute(f"select distinct {col} from {quote_table(table)} where {col} is not null and "
                                      f"try_cast({col} as {cast}) is null limit 6").fetchall()]
    if kind == "DOUBLE" and not all(_NUMBERISH.match(v.strip()) or v.strip().lower() in _PLACEHOLDERS
                                    for v in odd):
        return None
    return odd[0] if odd else None


def _odd_cell(path: Path, column: str, value: str, kind: str) -> tuple[int | None, str]:
    """The line of the first cell holding `value` in `column`, and the message."""
    dialect = _sniffed(path)
    header = _header(path, **dialect)
    if column not in header:
        return None, _typed_message(column, None, value, kind)
    index = header.index(column)
    for line, row in _rows(path, **dialect):
        if line > 1 and index < len(row) and row[index] == value:
            return line, _typed_message(column, index, value, kind)
    return None, _typed_message(column, index, value, kind)


def _typed_message(column: str, index: int | None, value: str, kind: str) -> str:
    where = f"column {index + 1} ({column})" if index is not None else f"column {column}"
    what = "numbers" if kind == "DOUBLE" else "dates"
    placeholder = value.strip().lower() in _PLACEHOLDERS
    fix = "leave the cell empty for no value" if placeholder else _advice(kind)
    return (f"{where}: {value!r} is not {_kind_name(kind)}, but the column's other values are {what}, so the "
            f"whole column was read as text; {fix}")
