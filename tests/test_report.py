"""``lineage report RUN -o run.html``: one self-contained HTML file with the run's
figures (their data inline), lineage and plotly.js, and no external URL to load."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_ui_data import UIData, make_store

from lineage.server.report import report

pytest.importorskip("sklearn")

EXTERNAL = re.compile(
    r"""<(script|link|img|iframe|source|embed)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> UIData:
    return make_store(tmp_path_factory.mktemp("report") / "data", fan_out=0)


def figures_of(page: str) -> list[dict[str, Any]]:
    blocks = re.findall(
        r'<script type="application/json" data-figure="[^"]+">(.*?)</script>', page, re.S
    )
    return [json.loads(b.replace("<\\/", "</")) for b in blocks]


def stored_metadata(data: UIData, artifact_id: int) -> dict[str, Any]:
    from lineage.artifacts import custom_properties_to_metadata
    from lineage.store.store import Store

    store = Store.open(data.database_url)
    try:
        [artifact] = store.get_nodes_by_id("artifact", [artifact_id])
        return dict(custom_properties_to_metadata(artifact.custom_properties))
    finally:
        store.close()


def test_report_by_name_is_self_contained_with_the_figures(data: UIData, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    name = data.run_names["forest-50"]
    result = CliRunner().invoke(report, [name, "-o", str(out), "--data-dir", str(data.data_dir)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    page = out.read_text()

    # self-contained: plotly.js inline, nothing loaded from a URL
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script src" not in page and "<link" not in page
    assert len(page) > 3_000_000  # plotly.js is in the file
    assert "Plotly.newPlot" in page

    # the run
    assert name in page and "forest-50" in page
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert f"<strong>{metric}</strong>" in page
    assert "random_forest" in page

    # the figures, with the stored data
    figures = figures_of(page)
    metadata = stored_metadata(data, data.classification["forest-50"])
    heatmaps = [t for f in figures for t in f["data"] if t.get("type") == "heatmap"]
    assert [h["z"] for h in heatmaps] == [[r["row"] for r in metadata["confusionMatrix"]["rows"]]]
    fprs = sorted(p["falsePositiveRate"] for p in metadata["confidenceMetrics"])
    roc = [
        t
        for f in figures
        for t in f["data"]
        if isinstance(t.get("x"), list) and None not in t["x"] and sorted(t["x"]) == fprs
    ]
    assert roc, "the ROC curve's points are not in the report"
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert any(t.startswith("ROC curve") for t in titles)
    assert any(t.startswith("Precision-recall") for t in titles)
    # the lineage graph: the run's three steps and their five artifacts
    [lineage] = [f for f in figures if f["layout"]["title"]["text"] == "Lineage of the run's steps"]
    hover = " ".join(str(t.get("hovertext") or t.get("text") or "") for t in lineage["data"])
    for node in ("prepare", "train", "evaluate", "model", "classification"):
        assert node in hover


def test_report_by_id_and_default_name(data: UIData, tmp_path: Path) -> None:
    run_id = data.runs["logreg-C1"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lineage.cli",
            "report",
            str(run_id),
            "--data-dir",
            str(data.data_dir),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [written] = list(tmp_path.glob("*.html"))
    assert written.name == f"{data.run_names['logreg-C1']}.html"
    assert "logreg-C1" in written.read_text()


def test_report_errors_are_clear(data: UIData, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        report, ["no-such-run", "--data-dir", str(data.data_dir), "-o", str(tmp_path / "x.html")]
    )
    assert result.exit_code != 0 and "no pipeline run 'no-such-run'" in result.output
    result = runner.invoke(report, ["1", "--data-dir", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "no metadata database" in result.output
    assert not (tmp_path / "x.html").exists()


def test_report_database_and_output_errors_are_clear(data: UIData, tmp_path: Path) -> None:
    """A bad URL, a database without the schema and an unwritable output were a
    traceback or a misleading "the write was rolled back"."""
    runner = CliRunner()
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    for args, message in [
        (["--database-url", "garbage"], "not a database URL: 'garbage'"),
        (["--database-url", "nosuchdb://x"], "unsupported database 'nosuchdb'"),
        (["--database-url", f"sqlite:///{empty}"], "is not a Lineage database"),
        (["--database-url", f"sqlite:///{tmp_path / 'none.sqlite'}"], "no SQLite database at"),
        (
            ["--data-dir", str(data.data_dir), "-o", str(tmp_path / "no-dir" / "r.html")],
            f"cannot write {tmp_path / 'no-dir' / 'r.html'}",
        ),
    ]:
        result = runner.invoke(report, [str(data.runs["logreg-C1"]), *args])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and result.exception is not None
        assert isinstance(result.exception, SystemExit), (args, result.exception)
    assert not list(tmp_path.rglob("*.html")) and not list(tmp_path.rglob(".*.tmp"))
    assert not (tmp_path / "none.sqlite").exists()  # a report creates no database
