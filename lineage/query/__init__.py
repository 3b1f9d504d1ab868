"""MLMD's ``filter_query`` language: parse, check and compile to SQLAlchemy.

    from lineage.query import compile_filter
    condition = compile_filter("artifact", "type = 'system.Model' AND state = LIVE")
    select(artifact_table.c.id).where(condition)

See :mod:`lineage.query.parser` for the grammar and :mod:`lineage.query.compiler` for
the semantics (MLMD's, with EXISTS subqueries in place of MLMD's joins).
"""

from lineage.query.compiler import compile_filter
from lineage.query.parser import parse

__all__ = ["compile_filter", "parse"]
