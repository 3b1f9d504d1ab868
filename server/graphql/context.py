"""What every resolver reaches through ``info.context``: the request's store and loaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage.server.graphql.loaders import Loaders
from lineage.store.store import Store


@dataclass
class GraphQLContext:
    store: Store
    loaders: Loaders
    request: Any = None
    response: Any = None

    @classmethod
    def for_store(cls, store: Store, request: Any = None, response: Any = None) -> GraphQLContext:
        return cls(store=store, loaders=Loaders(store), request=request, response=response)
