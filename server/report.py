"""``lineage report RUN -o run.html``: one self-contained HTML file with a run's figures
and lineage, to attach to a ticket or mail around.

The run is read the way the web UI reads it (the GraphQL schema, executed in process on
the store: no server needed), its figures are built by :mod:`lineage.viewers` (the same
builders the UI's ``figure`` field uses), and plotly.js is inlined: the file loads
nothing from anywhere, so it opens offline and years later.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lineage.errors import LineageError

RUN_QUERY = """
query Report($id: ID, $name: String) {
  pipelineRun(id: $id, name: $name) {
    id mlmdId name displayName state startTime endTime durationSeconds
    pipeline { name }
    stepCounts { state count }
    steps {
      id mlmdId displayName typeName state startTime durationSeconds
      inputs { id mlmdId displayName typeName state uri }
      outputs { id mlmdId displayName typeName state uri }
    }
    metrics { name value artifact { mlmdId displayName } }
    parameters { name value step { displayName } }
    artifacts(first: 100) { id mlmdId displayName typeName state uri }
  }
}
"""


class ReportError(click.ClickException):
    pass


def _open_store(database_url: str | None, data_dir: str) -> Any:
    from lineage.store.engine import default_database_url, make_engine
    from lineage.store.store import Store

    if not database_url:
        sqlite = Path(data_dir) / "metadata.sqlite"
        if not sqlite.exists():
            raise ReportError(
                f"no metadata database in {data_dir} ({sqlite} does not exist): "
                "pass --data-dir or --database-url"
            )
        database_url = default_database_url(data_dir)
    try:
        engine = make_engine(database_url, existing=True)
    except LineageError as exc:
        raise ReportError(exc.message) from None
    _check_schema(engine, database_url)
    return Store(engine, migrate=False)


def _check_schema(engine: Any, database_url: str) -> None:
    """A database without MLMD's tables has no runs: say so, not a write's error."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError

    from lineage.store.engine import database_failure, describe_url

    where = describe_url(database_url)
    try:
        has_contexts = inspect(engine).has_table("Context")
    except DBAPIError as exc:
        engine.dispose()
        raise ReportError(database_failure(database_url, exc)) from None
    if not has_contexts:
        engine.dispose()
        raise ReportError(f"database {where} is not a Lineage database (no Context table)")


def _run_arguments(run: str) -> dict[str, Any]:
    text = run.strip()
    if text.isdigit() or re.fullmatch(r"(PipelineRun|Context):\d+", text):
        return {"id": text, "name": None}
    return {"id": None, "name": text}


def fetch_run(store: Any, run: str) -> dict[str, Any]:
    """The run as the UI sees it (GraphQL, in process)."""
    from lineage.server.graphql.context import GraphQLContext
    from lineage.server.graphql.schema import schema

    async def execute() -> Any:
        return await schema.execute(
            RUN_QUERY,
            variable_values=_run_arguments(run),
            context_value=GraphQLContext.for_store(store),
        )

    result = asyncio.run(execute())
    if result.errors:
        raise ReportError("; ".join(e.message for e in result.errors))
    found = (result.data or {}).get("pipelineRun")
    if found is None and _run_arguments(run)["id"] is not None:
        # a run named like a number
        result = asyncio.run(_retry_by_name(schema, store, run))
        found = (result.data or {}).get("pipelineRun") if not result.errors else None
    if found is None:
        raise ReportError(f"no pipeline run {run!r} (give a run's name or id)")
    return found  # type: ignore[no-any-return]


async def _retry_by_name(schema: Any, store: Any, run: str) -> Any:
    from lineage.server.graphql.context import GraphQLContext

    return await schema.execute(
        RUN_QUERY,
        variable_values={"id": None, "name": run},
        context_value=GraphQLContext.for_store(store),
    )


def build_figures(store: Any, run: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(section title, figure title, plotly JSON) of every artifact figure of the run,
    then its lineage graph."""
    from lineage import viewers
    from lineage.server.graphql.figures import artifact_figures, to_json

    out: list[tuple[str, str, dict[str, Any]]] = []
    by_id = {a["mlmdId"]: a for a in run["artifacts"]}
    found = store.get_nodes_by_id("artifact", sorted(by_id))
    for artifact in sorted(found, key=lambda a: int(a.id)):
        for fig in artifact_figures(artifact):
            if fig.kind == "METRICS_TABLE":
                continue  # the metrics are a table of their own in the report
            out.append((by_id[artifact.id]["displayName"], fig.title, fig.figure))  # type: ignore[arg-type]
    graph = run_graph(run)
    if graph["nodes"]:
        fig = viewers.lineage_graph_figure(graph, title="Lineage of the run's steps")
        out.append(("Lineage", "Lineage of the run's steps", to_json(fig)))
    return out


def run_graph(run: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The run's steps and the artifacts they read and wrote, as the viewers' graph
    description."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []

    def add(item: dict[str, Any], kind: str) -> str:
        key = f"{kind}:{item['mlmdId']}"
        nodes.setdefault(
            key,
            {
                "id": key,
                "kind": kind,
                "name": item["displayName"],
                "type": item["typeName"],
                "state": item["state"] or "",
                **({"uri": item["uri"] or ""} if kind == "artifact" else {}),
            },
        )
        return key

    for step in run["steps"]:
        s = add(step, "execution")
        for a in step["inputs"]:
            edges.append({"source": add(a, "artifact"), "target": s, "kind": "input"})
        for a in step["outputs"]:
            edges.append({"source": s, "target": add(a, "artifact"), "kind": "output"})
    return {"nodes": list(nodes.values()), "edges": edges}


# ------------------------------------------------------------------ HTML

STYLE = """
*{box-sizing:border-box}body{margin:0;font:14px/1.5 -apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1f2933;background:#f4f6f9}
main{max-width:1180px;margin:0 auto;padding:28px 24px 56px}
h1{font-size:22px;margin:0 0 6px;word-break:break-word}h2{font-size:15px;margin:0;padding:12px 16px;border-bottom:1px solid #e4e7eb}
.kicker{color:#7b8794;font-size:12.5px}.meta{color:#52606d;font-size:13px;margin-bottom:18px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:10px;margin-bottom:16px;box-shadow:0 1px 2px rgba(16,42,67,.06);overflow:hidden}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}.grid .card{margin:0}
table{width:100%;border-collapse:collapse}th{text-align:left;font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:#7b8794;background:#fafbfc;padding:8px 14px;border-bottom:1px solid #e4e7eb}
td{padding:8px 14px;border-bottom:1px solid #eef1f4;vertical-align:top}tr:last-child td{border-bottom:0}.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12.5px ui-monospace,Menlo,Consolas,monospace;background:#f0f3f7;padding:1px 5px;border-radius:4px}
.badge{display:inline-block;padding:0 9px;border-radius:999px;font-size:12px;font-weight:600;background:#eef1f4;color:#52606d}
.COMPLETE,.LIVE{background:#e3f4ea;color:#1f9d55}.FAILED{background:#fbe9e9;color:#d64545}.RUNNING{background:#e3f0fd;color:#2186eb}.CACHED{background:#efebff;color:#7b61ff}
.figure{padding:6px}.empty{color:#7b8794;padding:12px 16px}footer{color:#9aa5b1;font-size:12px;margin-top:24px}
@media print{body{background:#fff}.card{break-inside:avoid}}
"""

RENDER = """
(function(){
  var nodes=document.querySelectorAll('script[type="application/json"][data-figure]');
  for(var i=0;i<nodes.length;i++){
    var fig=JSON.parse(nodes[i].textContent);
    var el=document.getElementById(nodes[i].getAttribute('data-figure'));
    var layout=fig.layout||{};layout.autosize=true;delete layout.width;
    Plotly.newPlot(el,fig.data||[],layout,{displaylogo:false,responsive:true});
  }
})();
"""


def _e(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "—" if value is None else str(value)


def _badge(state: str | None) -> str:
    return f'<span class="badge {_e(state)}">{_e((state or "unknown").lower())}</span>'


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<div class="empty">{_e(empty)}</div>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _json_script(figure_id: str, figure: dict[str, Any]) -> str:
    text = json.dumps(figure, separators=(",", ":"))
    # nothing in the data may end the script element
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return f'<script type="application/json" data-figure="{figure_id}">{text}</script>'


def render_report(run: dict[str, Any], figures: list[tuple[str, str, dict[str, Any]]]) -> str:
    from plotly.offline import get_plotlyjs

    title = run["displayName"] or run["name"]
    steps = [
        [
            _e(s["displayName"]),
            _badge(s["state"]),
            f'<span class="num">{_e(_seconds(s["durationSeconds"]))}</span>',
            ", ".join(_e(a["displayName"]) for a in s["inputs"]) or "—",
            ", ".join(_e(a["displayName"]) for a in s["outputs"]) or "—",
        ]
        for s in run["steps"]
    ]
    metrics = [
        [
            f"<strong>{_e(m['name'])}</strong>",
            f'<span class="num">{_e(_fmt(m["value"]))}</span>',
            _e(m["artifact"]["displayName"]),
        ]
        for m in run["metrics"]
    ]
    parameters = [
        [f"<code>{_e(p['name'])}</code>", _e(_fmt(p["value"])), _e(p["step"]["displayName"])]
        for p in run["parameters"]
    ]
    artifacts = [
        [
            _e(a["displayName"]),
            f"<code>{_e(a['typeName'])}</code>",
            _badge(a["state"]),
            f"<code>{_e(a['uri'] or '—')}</code>",
        ]
        for a in run["artifacts"]
    ]
    figure_cards = []
    data_scripts = []
    lineage_card = ""
    for i, (section, fig_title, figure) in enumerate(figures):
        fid = f"figure-{i}"
        height = int((figure.get("layout") or {}).get("height") or 420)
        block = (
            f'<section class="card"><h2>{_e(fig_title)} · {_e(section)}</h2>'
            f'<div class="figure" id="{fid}" style="height:{height}px"></div></section>'
        )
        data_scripts.append(_json_script(fid, figure))
        if section == "Lineage":
            lineage_card = block
        else:
            figure_cards.append(block)
    counts = ", ".join(f"{c['count']} {c['state'].lower()}" for c in run["stepCounts"])
    generated = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lineage report">
<title>{_e(title)} · Lineage report</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<main>
<div class="kicker">Pipeline run report{" · " + _e(run["pipeline"]["name"]) if run.get("pipeline") else ""}</div>
<h1>{_e(title)} {_badge(run["state"])}</h1>
<div class="meta">PipelineRun:{_e(run["mlmdId"])} · started {_e(_when(run["startTime"]))} · ended {_e(_when(run["endTime"]))} · duration {_e(_seconds(run["durationSeconds"]))} · steps: {_e(counts or "none")}</div>
<section class="card"><h2>Steps</h2>{_table(["Step", "State", "Duration", "Inputs", "Outputs"], steps, "No steps.")}</section>
<div class="grid">
<section class="card"><h2>Metrics</h2>{_table(["Metric", "Value", "Artifact"], metrics, "No scalar metrics.")}</section>
<section class="card"><h2>Parameters</h2>{_table(["Parameter", "Value", "Step"], parameters, "No parameters.")}</section>
</div>
<div style="height:16px"></div>
<div class="grid">{"".join(figure_cards)}</div>
<div style="height:16px"></div>
{lineage_card}
<section class="card"><h2>Artifacts</h2>{_table(["Artifact", "Type", "State", "URI"], artifacts, "No artifacts.")}</section>
<footer>Generated by <code>lineage report</code> on {_e(generated)}. Self-contained: this file loads nothing from the network.</footer>
</main>
{"".join(data_scripts)}
<script>{RENDER}</script>
</body>
</html>
"""


def _when(value: str | None) -> str:
    """An ISO time as 2026-01-02 03:04:05 UTC."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _write_atomically(target: Path, text: str) -> None:
    """Write to a temporary file beside ``target``, then rename: never a half report."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _default_output(run: dict[str, Any]) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(run["name"] or f"run-{run['mlmdId']}")).strip("-")
    return Path(f"{name or 'run'}.html")


@click.command("report")
@click.argument("run")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write. [default: <run name>.html; '-' for stdout]",
)
@click.option(
    "--database-url",
    envvar="LINEAGE_DATABASE_URL",
    default=None,
    help="Metadata database (any SQLAlchemy URL). [default: SQLite in --data-dir]",
)
@click.option(
    "--data-dir",
    envvar="LINEAGE_DATA_DIR",
    default="lineage-data",
    show_default=True,
    help="Embedded store directory (what `lineage serve --data-dir` serves).",
)
def report(run: str, output: Path | None, database_url: str | None, data_dir: str) -> None:
    """Write one self-contained HTML file with a run's metrics, figures and lineage.

    RUN is the run's name or id (an MLMD context id, or PipelineRun:<id>).
    """
    if not run.strip():
        raise ReportError("give the run's name or id (RUN is empty)")
    store = _open_store(database_url, data_dir)
    try:
        found = fetch_run(store, run)
        figures = build_figures(store, found)
        page = render_report(found, figures)
    finally:
        store.close()
    if output is not None and str(output) == "-":
        sys.stdout.write(page)
        return
    target = output or _default_output(found)
    try:
        _write_atomically(target, page)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
    click.echo(
        f"wrote {target} ({len(page.encode()) / 1e6:.1f} MB): run {found['name']!r}, "
        f"{len(figures)} figure{'s' if len(figures) != 1 else ''}"
    )
