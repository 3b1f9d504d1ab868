"""The schema, assembled: roots, limits, error formatting, scalars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from lineage.server.graphql import limits
from lineage.server.graphql.errors import ErrorFormatter
from lineage.server.graphql.figures import FigureQuery
from lineage.server.graphql.mutation import Mutation
from lineage.server.graphql.query import Query
from lineage.server.graphql.subscription import Subscription
from lineage.server.graphql.types import (
    DATETIME_SCALAR,
    LONG_SCALAR,
    Artifact,
    ArtifactType,
    Context,
    ContextType,
    Execution,
    ExecutionType,
    Long,
    PipelineRun,
)


class LineageSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors (bad input, unknown ids) are the client's business; unexpected
        ones are logged with their traceback by :class:`ErrorFormatter`."""


def build_schema(**overrides: Any) -> LineageSchema:
    return LineageSchema(
        query=merge_types("Query", (Query, FigureQuery)),
        mutation=Mutation,
        subscription=Subscription,
        types=[Artifact, Execution, Context, PipelineRun, ArtifactType, ExecutionType, ContextType],
        config=StrawberryConfig(scalar_map={Long: LONG_SCALAR, datetime: DATETIME_SCALAR}),
        extensions=[*limits.extensions(), ErrorFormatter],
        **overrides,
    )


schema = build_schema()


def schema_sdl() -> str:
    """The schema in SDL, as checked in at the repository root (schema.graphql)."""
    return str(schema).rstrip("\n") + "\n"
