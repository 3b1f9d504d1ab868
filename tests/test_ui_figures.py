"""The UI's server side, in process: the GraphQL figure fields (figure, figures,
compareFigure, document) built by lineage.viewers, and the routes serving the page,
its assets and plotly.js (nothing from a CDN)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_data import UIData, make_store

from lineage.server.config import ServerConfig
from lineage.server.graphql.figures import short_labels
from lineage.server.http.app import build_app
from lineage.server.http.ui_routes import ui_dir
from lineage.store.store import Store

with warnings.catch_warnings():  # starlette's TestClient over httpx warns at import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> UIData:
    return make_store(tmp_path_factory.mktemp("ui-figures") / "data", fan_out=0)


@pytest.fixture(scope="module")
def client(data: UIData) -> Iterator[TestClient]:
    store = Store.open(data.database_url)
    app = build_app(store, ServerConfig(data_dir=str(data.data_dir)))
    with TestClient(app) as c:
        yield c
    store.close()


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ok(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def stored_metadata(client: TestClient, artifact_id: int) -> dict[str, Any]:
    data = ok(
        client,
        "query($id: ID!) { node(id: $id) { ... on Artifact { metadata } } }",
        id=f"Artifact:{artifact_id}",
    )
    return data["node"]["metadata"]  # type: ignore[no-any-return]


def test_figures_of_a_classification_artifact_carry_its_data(
    client: TestClient, data: UIData
) -> None:
    artifact = data.classification["logreg-C1"]
    metadata = stored_metadata(client, artifact)
    figures = ok(
        client,
        "query($id: ID!) { figures(artifactId: $id) { kind title figure } }",
        id=str(artifact),
    )["figures"]
    assert [f["kind"] for f in figures] == ["CONFUSION_MATRIX", "ROC_CURVE", "PRECISION_RECALL"]
    by_kind = {f["kind"]: f["figure"] for f in figures}

    rows = [r["row"] for r in metadata["confusionMatrix"]["rows"]]
    heatmap = by_kind["CONFUSION_MATRIX"]["data"][0]
    assert heatmap["type"] == "heatmap"
    assert heatmap["z"] == rows
    assert sum(map(sum, rows)) == 143  # the test split of the demo data

    roc = [
        t
        for t in by_kind["ROC_CURVE"]["data"]
        if "AUC" in t.get("name", "") and "Chance" not in t["name"]
    ]
    assert len(roc) == 1
    points = metadata["confidenceMetrics"]
    assert sorted(roc[0]["x"]) == sorted(p["falsePositiveRate"] for p in points)
    assert sorted(roc[0]["y"]) == sorted(p["recall"] for p in points)
    assert by_kind["PRECISION_RECALL"]["layout"]["xaxis"]["title"]["text"] == "Recall"


def test_confusion_matrix_normalized(client: TestClient, data: UIData) -> None:
    artifact = data.classification["forest-50"]
    query = "query($id: ID!, $n: Boolean!) { figure(artifactId: $id, kind: CONFUSION_MATRIX, normalize: $n) { title figure } }"
    counts = ok(client, query, id=f"Artifact:{artifact}", n=False)["figure"]
    normalized = ok(client, query, id=f"Artifact:{artifact}", n=True)["figure"]
    assert normalized["title"] == "Confusion matrix (normalized)"
    z_counts = counts["figure"]["data"][0]["z"]
    z_norm = normalized["figure"]["data"][0]["z"]
    for row_counts, row_norm in zip(z_counts, z_norm, strict=True):
        assert sum(row_norm) == pytest.approx(1.0)
        assert row_norm == pytest.approx([c / sum(row_counts) for c in row_counts])


def test_metrics_table_figure(client: TestClient, data: UIData) -> None:
    artifact = data.metrics["forest-200"]
    figures = ok(
        client, "query($id: ID!) { figures(artifactId: $id) { kind figure } }", id=str(artifact)
    )["figures"]
    assert [f["kind"] for f in figures] == ["METRICS_TABLE"]
    names, values = figures[0]["figure"]["data"][0]["cells"]["values"]
    assert set(names) == {"accuracy", "precision", "recall", "f1", "roc_auc"}


def test_a_figure_the_metadata_has_no_data_for_is_a_clear_error(
    client: TestClient, data: UIData
) -> None:
    body = gql(
        client,
        "query($id: ID!) { figure(artifactId: $id, kind: ROC_CURVE) { title } }",
        id=str(data.models["forest-50"]),
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert "has no roc curve" in error["message"]
    assert (
        ok(
            client,
            "query($id: ID!) { figures(artifactId: $id) { kind } }",
            id=str(data.models["forest-50"]),
        )["figures"]
        == []
    )
    body = gql(client, '{ figures(artifactId: "Artifact:99999") { kind } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_compare_figures(client: TestClient, data: UIData) -> None:
    ids = [str(data.runs["logreg-C1"]), str(data.runs["forest-200"])]
    query = "query($ids: [ID!]!, $k: CompareFigureKind!) { compareFigure(runIds: $ids, kind: $k) { kind figure } }"
    roc = ok(client, query, ids=ids, k="ROC")["compareFigure"]["figure"]
    curves = [t for t in roc["data"] if "Chance" not in t.get("name", "")]
    assert len(curves) == 2
    # the runs' shared name prefix is cut so legends stay readable
    assert curves[0]["name"].startswith("2-logreg-C1") and curves[1]["name"].startswith(
        "5-forest-200"
    )
    bars = ok(client, query, ids=ids, k="METRICS")["compareFigure"]["figure"]
    accuracy = [t for t in bars["data"] if t["type"] == "bar"]
    assert accuracy and {t["name"] for t in accuracy} == {"2-logreg-C1", "5-forest-200"}
    body = gql(client, query, ids=[str(data.runs["logreg-C1"])] * 21, k="ROC")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


def test_short_labels() -> None:
    assert short_labels(["pipe-2026-1-a", "pipe-2026-2-b"]) == ["1-a", "2-b"]
    assert short_labels(["run-1", "run-12"]) == ["1", "12"]
    assert short_labels(["alpha", "beta"]) == ["alpha", "beta"]
    assert short_labels(["same-x", "same-x"]) == ["x", "x"]
    assert short_labels(["one"]) == ["one"]


def test_documents_render_sanitized(client: TestClient, data: UIData) -> None:
    query = "query($id: ID!) { document(artifactId: $id) { format html size truncated } }"
    page = ok(client, query, id=str(data.html_id))["document"]
    assert page["format"] == "html" and not page["truncated"]
    assert "<h1>Evaluation report</h1>" in page["html"] and "<b>fine</b>" in page["html"]
    for bad in ("<script", "onerror", "javascript:", "pwned"):
        assert bad not in page["html"]
    card = ok(client, query, id=str(data.markdown_id))["document"]
    assert card["format"] == "markdown"
    assert "<h1>Model card</h1>" in card["html"] and "<table>" in card["html"]
    assert "<script" not in card["html"]
    body = gql(client, query, id=str(data.models["forest-50"]))
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


def test_documents_are_sanitized_once(
    client: TestClient, data: UIData, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.server.graphql import figures

    monkeypatch.setattr(figures, "RENDERED", figures._RenderedDocuments())
    reads: list[str] = []
    read = figures.read_document

    def counted(location: str, sha256: str, size: int) -> tuple[bytes, bool]:
        reads.append(sha256)
        return read(location, sha256, size)

    monkeypatch.setattr(figures, "read_document", counted)
    query = "query($id: ID!) { document(artifactId: $id) { html truncated } }"
    first = ok(client, query, id=str(data.html_id))["document"]
    again = ok(client, query, id=str(data.html_id))["document"]
    assert again == first and len(reads) == 1

    small = figures._RenderedDocuments(max_chars=10)
    small.put(("t", "a"), ("12345", False))
    small.put(("t", "b"), ("12345", False))
    assert small.get(("t", "a")) == ("12345", False)  # now the most recent
    small.put(("t", "c"), ("123", True))
    assert small.get(("t", "b")) is None and small.get(("t", "c")) == ("123", True)
    small.put(("t", "huge"), ("x" * 11, False))
    assert small.get(("t", "huge")) is None


# ---------------------------------------------------------------- routes


def test_index_page_and_assets(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    page = response.text
    assert '<script type="module" src="/static/app.js?v=' in page
    assert "{{version}}" not in page
    for name in ("app.js", "graph.js", "gql.js", "util.js", "style.css", "favicon.svg"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200, name
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    for bad in (
        "/static/__init__.py",
        "/static/../report.py",
        "/static/%2e%2e/pyproject.toml",
        "/static/nope.js",
        "/static/" + "a" * 300 + ".js",  # longer than a file name may be (ENAMETOOLONG)
    ):
        assert client.get(bad).status_code == 404, bad


def test_assets_load_nothing_from_elsewhere() -> None:
    """No CDN: no script, stylesheet, font or import from another origin in the UI."""
    external = re.compile(
        r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|import[^;]*["'](https?:)?//|fetch\(\s*["'](https?:)?//"""
    )
    for path in Path(ui_dir()).iterdir():
        if path.suffix in (".js", ".css", ".html"):
            text = path.read_text()
            assert not external.search(text), f"{path.name}: {external.search(text)}"


def test_figure_problems_say_why_nothing_is_drawn(client: TestClient, data: UIData) -> None:
    from lineage import model

    store = Store.open(data.database_url)
    try:
        [type_id] = [
            t.id for t in store.get_types("artifact") if t.name == "system.ClassificationMetrics"
        ]
        ragged = model.Artifact(
            type_id=type_id,
            uri="/ragged",
            custom_properties={
                "confusionMatrix": model.Value.of(
                    {
                        "struct": {
                            "annotationSpecs": [{"displayName": "a"}, {"displayName": "b"}],
                            "rows": [{"row": [1, 2]}, {"row": [3]}],
                        }
                    }
                )
            },
        )
        [bad] = store.put_nodes("artifact", [ragged])
    finally:
        store.close()
    query = "query($id: ID!) { figures(artifactId: $id) { kind } figureProblems(artifactId: $id) }"
    found = ok(client, query, id=f"Artifact:{bad}")
    assert found["figures"] == []
    [problem] = found["figureProblems"]
    assert problem.startswith("Confusion matrix: ") and "row" in problem
    good = ok(client, query, id=f"Artifact:{data.classification['logreg-C1']}")
    assert good["figures"] and good["figureProblems"] == []
