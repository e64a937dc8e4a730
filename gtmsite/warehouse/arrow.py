"""Results as Arrow: exact types on the way in, and a fingerprint of the content.

PostgreSQL's NUMERIC arrives from ADBC as text tagged with the column's typmod; it becomes
DECIMAL(p,s). An unconstrained NUMERIC (no typmod, e.g. `sum(amount)` or `avg(x)`) becomes
DECIMAL(38,s), s being the largest scale among its values (so 0.10 + 0.20 is 0.30, exactly);
a value with more than 38 digits is an error that says to cast it in the query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

MAX_PRECISION = 38


class TypeProblem(Exception):
    """A column whose values cannot be given an exact type; the message names it and the fix."""


def normalize(table: pa.Table) -> pa.Table:
    """The table with driver-specific column types made plain Arrow types DuckDB reads exactly."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns):
        meta = field.metadata or {}
        kind = meta.get(b"POSTGRESQL:type", b"").decode()
        if isinstance(field.type, pa.ExtensionType) or isinstance(field.type, pa.BaseExtensionType):
            column = pa.chunked_array([c.storage for c in column.chunks], type=field.type.storage_type)
        if kind == "numeric" and pa.types.is_string(column.type):
            column = _numeric(field.name, column, int(meta.get(b"POSTGRESQL:typmod", b"-1")))
        columns.append(column)
        fields.append(pa.field(field.name, column.type, field.nullable))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _numeric(name: str, column: pa.ChunkedArray, typmod: int) -> pa.ChunkedArray:
    if typmod >= 4:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    else:
        precision, scale = MAX_PRECISION, _largest_scale(column)
        digits = _largest_integer_digits(column)
        if digits + scale > MAX_PRECISION:
            raise TypeProblem(f"column '{name}': NUMERIC values with up to {digits} digits before and {scale} after "
                              f"the point do not fit DECIMAL(38); cast it in the query, e.g. "
                              f"round({name}, 2)::numeric(38,2) or {name}::float8")
    if precision > MAX_PRECISION:
        raise TypeProblem(f"column '{name}': NUMERIC({precision},{scale}) is wider than DECIMAL(38); cast it in the "
                          f"query, e.g. {name}::numeric(38,{min(scale, 10)}) or {name}::float8")
    try:
        return pc.cast(column, pa.decimal128(precision, scale))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise TypeProblem(f"column '{name}': a value is not a finite number (NaN or Infinity) and has no DECIMAL form; "
                          f"filter it out or cast the column to float8 in the query") from None


def _fraction_lengths(column: pa.ChunkedArray) -> pa.ChunkedArray:
    dot = pc.find_substring(column, ".")
    return pc.if_else(pc.less(dot, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(column), dot), 1))


def _largest_scale(column: pa.ChunkedArray) -> int:
    if column.null_count == len(column):
        return 0
    return min(int(pc.max(_fraction_lengths(column)).as_py() or 0), MAX_PRECISION)


def _largest_integer_digits(column: pa.ChunkedArray) -> int:
    if column.null_count == len(column):
        return 0
    unsigned = pc.utf8_ltrim(column, "-")
    dot = pc.find_substring(unsigned, ".")
    length = pc.if_else(pc.less(dot, 0), pc.utf8_length(unsigned), dot)
    return int(pc.max(length).as_py() or 0)


def from_rows(names: Sequence[str], batches: Iterable[Sequence[tuple]]) -> pa.Table:
    """Rows from a Python DB-API cursor (fetched in batches) as one Arrow table, column by column;
    a column of mixed kinds (SQLite allows them) becomes text."""
    tables = []
    for rows in batches:
        columns = list(zip(*rows)) if rows else [()] * len(names)
        arrays = [_array(values) for values in columns]
        tables.append(pa.Table.from_arrays(arrays, names=list(names)))
    if not tables:
        return pa.Table.from_arrays([pa.array([], pa.null()) for _ in names], names=list(names))
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        as_text = [t.cast(pa.schema([pa.field(n, pa.string()) for n in names])) for t in tables]
        return pa.concat_tables(as_text)


def _array(values: Sequence) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def digest(table: pa.Table) -> str:
    """The content's fingerprint: column names and types and every value, in order (the batching the
    driver chose makes no difference)."""
    hasher = hashlib.blake2b(digest_size=32)  # about 4x sha256's speed here; the names need no more
    hasher.update(str([(f.name, str(f.type)) for f in table.schema]).encode())
    hasher.update(str(table.num_rows).encode())
    plain = table.replace_schema_metadata(None)
    plain = pa.Table.from_arrays(plain.columns, names=plain.column_names)  # drop per-field metadata
    try:
        plain = plain.combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowCapacityError):
        pass
    for batch in plain.to_batches(max_chunksize=1 << 16):
        hasher.update(batch.serialize())
    return hasher.hexdigest()
