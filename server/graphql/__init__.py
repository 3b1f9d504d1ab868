"""The GraphQL API for dashboards (strawberry over ASGI), served at ``/graphql``.

``schema`` is the strawberry schema; :func:`lineage.server.graphql.app.graphql_app`
makes the ASGI app the HTTP server mounts; ``lineage graphql-schema`` prints the SDL.
"""

from lineage.server.graphql.schema import build_schema, schema, schema_sdl

__all__ = ["build_schema", "schema", "schema_sdl"]
