"""The lineage graph: a layered DAG, laid out with networkx, nodes styled by kind and state.

Input is a graph description::

    {"nodes": [{"id": "artifact:7", "kind": "artifact", "name": "model",
                "type": "system.Model", "state": "LIVE", ...extra fields shown on hover}],
     "edges": [{"source": "artifact:3", "target": "execution:2", "kind": "input"}]}

``kind`` is ``artifact``, ``execution`` or ``context``; ``state`` a state name (or MLMD's
enum number). :func:`describe_lineage_graph` builds this description from a core
``LineageGraph``. Layers are networkx's topological generations, so every edge goes from
a lower layer to a higher one (left to right); a node with no inputs moves up to just
before its first consumer. Inside a layer, nodes are ordered by the barycenter of their
neighbours to keep edges short. A cycle (not possible in MLMD lineage, possible in a
hand-made description) is drawn with the cycle's nodes in one layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import plotly.graph_objects as go

from lineage.model import (
    INPUT_EVENT_TYPES,
    OUTPUT_EVENT_TYPES,
    ArtifactState,
    ExecutionState,
    LineageGraph,
)

from . import theme
from ._metadata import MetadataError
from ._text import escape, truncate

NODE_KINDS = ("artifact", "execution", "context")
_KNOWN_NODE_KEYS = {"id", "kind", "name", "type", "state"}
LABELS_UP_TO = 60  # nodes; above this, names only on hover
HOVER_EXTRA_FIELDS = 8


@dataclass(frozen=True)
class GraphNode:
    id: Hashable
    kind: str
    name: str
    type: str
    state: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphEdge:
    source: Hashable
    target: Hashable
    kind: str


@dataclass(frozen=True)
class Layout:
    """Where each node goes: its layer (x) and its position in the layer (y)."""

    layers: list[list[Hashable]]
    positions: dict[Hashable, tuple[float, float]]

    def layer_of(self, node: Hashable) -> int:
        return int(self.positions[node][0])


# ---------------------------------------------------------------- input


def _state_name(kind: str, state: Any) -> str:
    if state is None or state == "":
        return "" if kind == "context" else "UNKNOWN"
    if isinstance(state, int) and not isinstance(state, bool):
        enum = ArtifactState if kind == "artifact" else ExecutionState
        try:
            return enum(state).name
        except ValueError:
            return "UNKNOWN"
    if isinstance(state, str):
        return state.upper()
    raise MetadataError(f"node state must be a name or a number, got {state!r}")


def parse_graph(graph: Any) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The nodes and edges of a graph description, checked."""
    if not isinstance(graph, Mapping):
        raise MetadataError(
            f"a lineage graph is a dict with 'nodes' and 'edges', got {type(graph).__name__}"
        )
    raw_nodes = graph.get("nodes")
    raw_edges = graph.get("edges", [])
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise MetadataError("a lineage graph needs 'nodes' and 'edges' lists")
    if not raw_nodes:
        raise MetadataError("the lineage graph has no nodes")
    nodes: list[GraphNode] = []
    seen: set[Hashable] = set()
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise MetadataError(f"nodes[{i}] must be a dict with an 'id', got {raw!r}")
        node_id = raw["id"]
        if not isinstance(node_id, str | int) or isinstance(node_id, bool):
            raise MetadataError(f"nodes[{i}].id must be a str or int, got {node_id!r}")
        if node_id in seen:
            raise MetadataError(f"duplicate node id {node_id!r}")
        seen.add(node_id)
        kind = raw.get("kind")
        if kind not in NODE_KINDS:
            raise MetadataError(
                f"nodes[{i}] ({node_id!r}) has kind {kind!r}: expected one of {list(NODE_KINDS)}"
            )
        name = raw.get("name")
        nodes.append(
            GraphNode(
                id=node_id,
                kind=kind,
                name=str(name) if name not in (None, "") else f"{kind} {node_id}",
                type=str(raw.get("type") or ""),
                state=_state_name(kind, raw.get("state")),
                extra={k: v for k, v in raw.items() if k not in _KNOWN_NODE_KEYS},
            )
        )
    edges: list[GraphEdge] = []
    unique: set[tuple[Hashable, Hashable, str]] = set()
    for i, raw in enumerate(raw_edges):
        if not isinstance(raw, Mapping) or "source" not in raw or "target" not in raw:
            raise MetadataError(f"edges[{i}] must be a dict with 'source' and 'target'")
        source, target = raw["source"], raw["target"]
        for end in (source, target):
            if end not in seen:
                raise MetadataError(f"edges[{i}] refers to unknown node {end!r}")
        key = (source, target, str(raw.get("kind") or ""))
        if key not in unique:
            unique.add(key)
            edges.append(GraphEdge(*key))
    return nodes, edges


# ---------------------------------------------------------------- layout


def _layers(graph: nx.DiGraph) -> dict[Hashable, int]:
    if nx.is_directed_acyclic_graph(graph):
        layer = {n: i for i, gen in enumerate(nx.topological_generations(graph)) for n in gen}
        # A source (no inputs) sits just before its first consumer, not at the far left.
        for node in list(layer):
            if graph.in_degree(node) == 0 and graph.out_degree(node) > 0:
                layer[node] = min(layer[s] for s in graph.successors(node)) - 1
        return layer
    condensed = nx.condensation(graph)
    mapping = condensed.graph["mapping"]
    component_layer = {
        c: i for i, gen in enumerate(nx.topological_generations(condensed)) for c in gen
    }
    return {n: component_layer[mapping[n]] for n in graph}


def _order(
    layers: list[list[Hashable]],
    graph: nx.DiGraph,
    layer_of: dict[Hashable, int],
    sweeps: int = 4,
) -> None:
    """Barycenter ordering, in place: alternately down (by predecessors in layers above)
    and up (by successors in layers below)."""
    index = {n: i for layer in layers for i, n in enumerate(layer)}
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        sequence = layers[1:] if down else layers[-2::-1]
        for layer in sequence:
            here = layer_of[layer[0]]

            def key(node: Hashable, here: int = here, down: bool = down) -> float:
                neighbours = graph.predecessors(node) if down else graph.successors(node)
                spots = [
                    index[m]
                    for m in neighbours
                    if (layer_of[m] < here if down else layer_of[m] > here)
                ]
                return sum(spots) / len(spots) if spots else index[node]

            layer.sort(key=key)
            for i, n in enumerate(layer):
                index[n] = i


def layered_layout(graph: Any) -> Layout:
    """Layers and positions for a graph description (see the module's docstring)."""
    nodes, edges = parse_graph(graph)
    return _layout(nodes, edges)


def _layout(nodes: list[GraphNode], edges: list[GraphEdge]) -> Layout:
    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in nodes)
    g.add_edges_from((e.source, e.target) for e in edges if e.source != e.target)
    layer_of = _layers(g)
    lowest = min(layer_of.values())
    layer_of = {n: v - lowest for n, v in layer_of.items()}
    layers: list[list[Hashable]] = [[] for _ in range(max(layer_of.values()) + 1)]
    for node in nodes:  # input order first, refined by the sweeps
        layers[layer_of[node.id]].append(node.id)
    layers = [layer for layer in layers if layer]
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    _order(layers, g, layer_of)
    positions: dict[Hashable, tuple[float, float]] = {}
    for x, layer in enumerate(layers):
        middle = (len(layer) - 1) / 2
        for i, node_id in enumerate(layer):
            positions[node_id] = (float(x), middle - i)
    return Layout(layers=layers, positions=positions)


# ---------------------------------------------------------------- figure


def _hover(node: GraphNode) -> str:
    lines = [f"<b>{escape(truncate(node.name, 80))}</b>", f"kind: {node.kind}"]
    if node.type:
        lines.append(f"type: {escape(node.type)}")
    if node.state:
        lines.append(f"state: {escape(node.state)}")
    lines.append(f"id: {escape(node.id)}")
    shown = 0
    for key, value in node.extra.items():
        if shown == HOVER_EXTRA_FIELDS:
            lines.append("…")
            break
        if isinstance(value, Mapping | list):
            continue
        lines.append(f"{escape(key)}: {escape(truncate(str(value), 80))}")
        shown += 1
    return "<br>".join(lines)


def _marker_size(count: int) -> int:
    if count <= 100:
        return 18
    if count <= 600:
        return 12
    return 8


def lineage_graph_figure(
    graph: Any,
    *,
    title: str | None = None,
    show_labels: bool | None = None,
    highlight: Hashable | None = None,
) -> go.Figure:
    """The lineage graph, left to right. Nodes: color and symbol by kind (artifact
    circle, execution square, context diamond), outline by state, one legend entry per
    kind and state; hover shows name, type, state, id and extra fields. Edges carry an
    arrow at their middle. ``highlight`` rings one node (the page's subject)."""
    nodes, edges = parse_graph(graph)
    layout = _layout(nodes, edges)
    pos = layout.positions
    count = len(nodes)
    if show_labels is None:
        show_labels = count <= LABELS_UP_TO
    size = _marker_size(count)
    tallest = max(len(layer) for layer in layout.layers)

    fig = theme.new_figure(
        title=title or "Lineage",
        height=int(min(max(420, 60 * tallest + 160), 1600)),
        hovermode="closest",
        dragmode="pan",
        legend={"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"},
    )

    by_kind: dict[str, list[GraphEdge]] = defaultdict(list)
    for edge in edges:
        by_kind[edge.kind].append(edge)
    for kind, edge_group in by_kind.items():
        xs: list[float | None] = []
        ys: list[float | None] = []
        sizes: list[int] = []
        for edge in edge_group:
            (x0, y0), (x1, y1) = pos[edge.source], pos[edge.target]
            xs += [x0, (x0 + x1) / 2, x1, None]
            ys += [y0, (y0 + y1) / 2, y1, None]
            sizes += [0, max(size // 2 + 3, 8), 0, 0]
        color = theme.EDGE_COLORS.get(kind, theme.DEFAULT_EDGE_COLOR)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=f"{kind or 'edge'} edges",
                showlegend=False,
                hoverinfo="skip",
                line={
                    "color": color,
                    "width": 1.2,
                    "dash": "dot" if kind in ("attribution", "association") else "solid",
                },
                marker={"symbol": "arrow", "size": sizes, "angleref": "previous", "color": color},
            )
        )

    groups: dict[tuple[str, str], list[GraphNode]] = defaultdict(list)
    for node in nodes:
        groups[(node.kind, node.state)].append(node)
    for (kind, state), group in sorted(
        groups.items(), key=lambda item: (NODE_KINDS.index(item[0][0]), item[0][1])
    ):
        label = kind.capitalize() + (f" · {state}" if state else "")
        fig.add_trace(
            go.Scatter(
                x=[pos[n.id][0] for n in group],
                y=[pos[n.id][1] for n in group],
                mode="markers+text" if show_labels else "markers",
                name=label,
                text=[escape(truncate(n.name, 24)) for n in group] if show_labels else None,
                textposition="bottom center",
                textfont={"size": 10, "color": theme.TEXT_COLOR},
                customdata=[str(n.id) for n in group],
                hovertext=[_hover(n) for n in group],
                hoverinfo="text",
                marker={
                    "symbol": theme.KIND_SYMBOLS[kind],
                    "size": size,
                    "color": theme.KIND_COLORS[kind],
                    "line": {
                        "color": theme.STATE_COLORS.get(state, theme.STATE_COLORS["UNKNOWN"])
                        if state
                        else "#ffffff",
                        "width": 3 if state else 1,
                    },
                },
            )
        )

    if highlight is not None:
        if highlight not in pos:
            raise MetadataError(f"cannot highlight unknown node {highlight!r}")
        x, y = pos[highlight]
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name="Selected",
                hoverinfo="skip",
                marker={
                    "symbol": "circle-open",
                    "size": size * 2,
                    "color": theme.TEXT_COLOR,
                    "line": {"width": 2},
                },
            )
        )

    hidden = {"showgrid": False, "zeroline": False, "showticklabels": False, "title": None}
    fig.update_xaxes(**hidden, range=[-0.5, len(layout.layers) - 0.5])
    fig.update_yaxes(**hidden, range=[-(tallest / 2) - 0.5, tallest / 2 + 0.5])
    return fig


# ---------------------------------------------------------------- from the core's graph


def _display_name(node: Any) -> str | None:
    value = node.custom_properties.get("display_name")
    if value is not None:
        value = value.python() if hasattr(value, "python") else value
    return value if isinstance(value, str) and value else None


def describe_lineage_graph(lineage: LineageGraph) -> dict[str, list[dict[str, Any]]]:
    """A graph description from the core's ``LineageGraph`` (MLMD's message): node ids
    ``artifact:<id>``, ``execution:<id>``, ``context:<id>``; event edges ``input``
    (artifact -> execution) and ``output`` (execution -> artifact); ``attribution`` and
    ``association`` edges from contexts."""
    nodes: list[dict[str, Any]] = []
    for a in lineage.artifacts:
        nodes.append(
            {
                "id": f"artifact:{a.id}",
                "kind": "artifact",
                "name": a.name or _display_name(a) or f"artifact {a.id}",
                "type": a.type or "",
                "state": a.state,
                "uri": a.uri or "",
            }
        )
    for e in lineage.executions:
        nodes.append(
            {
                "id": f"execution:{e.id}",
                "kind": "execution",
                "name": _display_name(e) or e.name or f"execution {e.id}",
                "type": e.type or "",
                "state": e.last_known_state,
            }
        )
    for c in lineage.contexts:
        nodes.append(
            {
                "id": f"context:{c.id}",
                "kind": "context",
                "name": c.name or f"context {c.id}",
                "type": c.type or "",
            }
        )
    ids = {n["id"] for n in nodes}
    edges: list[dict[str, Any]] = []

    def add(source: str, target: str, kind: str) -> None:
        if source in ids and target in ids:
            edges.append({"source": source, "target": target, "kind": kind})

    for event in lineage.events:
        artifact, execution = f"artifact:{event.artifact_id}", f"execution:{event.execution_id}"
        if event.type in INPUT_EVENT_TYPES:
            add(artifact, execution, "input")
        elif event.type in OUTPUT_EVENT_TYPES:
            add(execution, artifact, "output")
    for attribution in lineage.attributions:
        add(
            f"context:{attribution.context_id}",
            f"artifact:{attribution.artifact_id}",
            "attribution",
        )
    for association in lineage.associations:
        add(
            f"context:{association.context_id}",
            f"execution:{association.execution_id}",
            "association",
        )
    return {"nodes": nodes, "edges": edges}
