"""Compile once, run many: the reads a filter change repeats (the Overview's metrics, the drift
summaries, a comparison's figures) build their ibis expressions with the values that change (the
period's days, the agents, models and prompt versions picked) as parameters (`ibis.param`),
compile them to DuckDB SQL once per shape and then only bind new values.

Why: at 20k calls ibis spent more time compiling a read's expressions (graph rewrites, SQL
generation: ~30 ms each, five per Overview) than DuckDB spent running them. A read here is a
`Build`, a module-level function of the tables, the parameters and a `shape` (whatever else
decides the expression's structure: which lists are picked, a grouping). Its compiled SQL is
kept under the engine, the place it reads, the build, the shape and the parameters' names and
types, so the values are all that can differ between two runs of one SQL, and they are bound
(`$param_N`, cast to the parameter's type), never written into the SQL: a customer's agent name
stays data. The same expressions run unchanged on every engine: on Spark, which has no
compiled SQL to keep, ibis binds the values as it compiles each run (seconds per query there
anyway). A read over an in-memory table (the lake's reviews, read from the file each time)
cannot keep its SQL, whose table name changes with each reading: ibis binds and compiles it on each
run there, as on Spark, while the same read on the DuckDB file keeps its SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.datashape as ds
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import polars as pl
import sqlglot.expressions as sge
from ibis.backends.duckdb.converter import DuckDBPyArrowData
from ibis.backends.sql.compilers.duckdb import DuckDBCompiler
from ibis.common.patterns import replace
from ibis.expr.rewrites import p
from ibis.formats.polars import PolarsData

from warehouse.engines import Source
from warehouse.filters import Filters

Params = Mapping[str, ibis.Scalar]
Build = Callable[..., Sequence[ibis.Table]]  # (tables, params, *shape) -> the read's expressions
KEPT_SQL = 512  # compiled reads kept: a few shapes per read and engine, with room for tests' many files


class _Bound(ops.Value):
    """A parameter left in the SQL as a DuckDB placeholder, bound when the SQL runs."""

    name: str
    dtype: dt.DataType
    shape = ds.scalar


@replace(p.ScalarParameter)
def _left_unbound(_, **kwargs: Any) -> _Bound:
    return _Bound(name=_.name, dtype=_.dtype)


class _PlaceholderCompiler(DuckDBCompiler):
    """DuckDB's compiler, with each parameter compiled to `CAST($param_N AS type)` instead of its
    value (ibis's own compiler writes a parameter's value into the SQL as a literal)."""

    rewrites = (_left_unbound, *DuckDBCompiler.rewrites)

    def visit__Bound(self, op: _Bound, *, name: str, dtype: dt.DataType) -> sge.Expression:
        return self.cast(sge.Parameter(this=sge.Var(this=name)), dtype)


_COMPILER = _PlaceholderCompiler()


def _dtype(value: object) -> dt.DataType:
    """The parameter type a value binds to: the reads bind days, names and lists of names."""
    if isinstance(value, date):
        return dt.date
    if isinstance(value, str):
        return dt.string
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return dt.Array(dt.string)
    raise TypeError(f"No parameter type for {value!r}")


@dataclass(frozen=True)
class _Compiled:
    """One expression's SQL, the parameters it binds (placeholder name → value name) and the
    schema its result is converted to, as ibis converts it."""

    sql: str
    binds: tuple[tuple[str, str], ...]
    schema: ibis.Schema

    def run(self, source: Source, values: Mapping[str, object]) -> pl.DataFrame:
        assert source.con is not None
        bound = {placeholder: _bindable(values[name]) for placeholder, name in self.binds}
        table = source.con.sql(self.sql, params=bound).to_arrow_table()
        table = DuckDBPyArrowData.convert_table(table, self.schema)
        return PolarsData.convert_table(pl.from_arrow(table), self.schema)


def _bindable(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


_compiled: dict[Hashable, list[_Compiled]] = {}
_compiling = threading.Lock()


def frames(source: Source, build: Build, shape: tuple[Hashable, ...],
           values: Mapping[str, object]) -> list[pl.DataFrame]:
    """Run `build(tables, params, *shape)`'s expressions with `values` bound to its parameters
    (one per value, named as the value), one frame per expression: from SQL compiled the first
    time on the DuckDB engines, through ibis on Spark and over an in-memory table."""
    types = tuple(sorted((name, str(_dtype(value))) for name, value in values.items()))
    key = (source.engine, source.place, build.__module__, build.__qualname__, shape, types)
    compiled = _compiled.get(key) if source.con is not None else None
    if compiled is None:
        params = {name: ibis.param(_dtype(value)) for name, value in values.items()}
        expressions = build(source.tables, params, *shape)
        if source.con is None or any(e.op().find(ops.InMemoryTable) for e in expressions):
            bound = {params[name]: _bindable(value) for name, value in values.items()}
            return [e.to_polars(params=bound) for e in expressions]
        compiled = [_compile(e, params) for e in expressions]
        with _compiling:
            if len(_compiled) >= KEPT_SQL:
                _compiled.clear()
            _compiled[key] = compiled
    return [c.run(source, values) for c in compiled]


def _compile(expression: ibis.Table, params: Params) -> _Compiled:
    names = {param.op().name: name for name, param in params.items()}
    used = {op.name for op in expression.op().find(ops.ScalarParameter)}
    sql = _COMPILER.to_sqlglot(expression).sql(dialect="duckdb")
    return _Compiled(sql, tuple((placeholder, names[placeholder]) for placeholder in sorted(used)),
                     expression.schema())


@dataclass(frozen=True)
class FilterParams:
    """`Filters` as parameters: the fields the metric definitions read (`metrics.scoped_calls`),
    each list a parameter when picked and empty when not (which is part of the read's shape)."""

    start: ibis.DateScalar
    end: ibis.DateScalar
    agents: ibis.ArrayValue | tuple[()] = ()
    prompt_versions: ibis.ArrayValue | tuple[()] = ()
    models: ibis.ArrayValue | tuple[()] = ()

    @property
    def narrows_calls(self) -> bool:
        return any(isinstance(v, ibis.Expr) for v in (self.agents, self.prompt_versions, self.models))


_LISTS = ("agents", "prompt_versions", "models")


def filter_values(f: Filters, name: str) -> dict[str, object]:
    """`f`'s values under `name` (for `filter_params`): its days, and the lists picked."""
    values: dict[str, object] = {f"{name}.start": f.start, f"{name}.end": f.end}
    values |= {f"{name}.{field}": getattr(f, field) for field in _LISTS if getattr(f, field)}
    return values


def filter_params(params: Params, name: str) -> FilterParams:
    """The parameters of `filter_values(f, name)` as filters for the metric definitions."""
    lists = {field: params[f"{name}.{field}"] for field in _LISTS if f"{name}.{field}" in params}
    return FilterParams(params[f"{name}.start"], params[f"{name}.end"], **lists)

