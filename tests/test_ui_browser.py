"""The web UI in a real headless Chromium (Playwright) against ``lineage serve`` with the
demo data: every page opens, lineages expand by clicks, confusion matrices and ROC curves
draw, runs compare, a 2,000-node lineage opens collapsed and stays responsive; nothing is
loaded from outside the server and no script fails. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from lineage_server import LineageServer
from test_ui_data import FAN_OUT, UIData, make_store

pytest.importorskip("sklearn")
sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("LINEAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 20_000
# A click that expands a large lineage must answer within this (loose: 2 shared cores).
EXPAND_SECONDS = 3.0

if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"Chromium is missing ({CHROMIUM}): apt-get install -y chromium")
    pytest.skip(f"Chromium is missing ({CHROMIUM})", allow_module_level=True)


def gid(kind: str, mlmd_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{mlmd_id}".encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UIData, str]]:
    data = make_store(tmp_path_factory.mktemp("ui-browser") / "data")
    server = LineageServer(data.database_url, data.data_dir, http=True).start()
    try:
        yield data, f"http://127.0.0.1:{server.http_port}/"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A browser tab on the UI that remembers script errors and every request."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: self.requests.append(r.url))
        page.set_default_timeout(TIMEOUT_MS)

    def open(self, fragment: str) -> Any:
        """Load the app at #fragment and wait until the page has rendered."""
        self.page.goto(self.base + "#" + fragment)
        path = fragment.split("?")[0]
        self.page.wait_for_selector(f'#app[data-ready="{path}"]')
        return self.page

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())

    def wait_plotted(self, selector: str) -> Any:
        self.page.wait_for_selector(f"{selector}.plotted")
        return self.page.evaluate(
            "s => { const el = document.querySelector(s); return {data: el.data, layout: el.layout}; }",
            f"{selector}.plotted",
        )


@pytest.fixture
def tab(browser: Any, ui: tuple[UIData, str]) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    page = Page(context.new_page(), ui[1])
    yield page
    host = urlparse(ui[1]).netloc
    outside = [
        u
        for u in page.requests
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != host
    ]
    context.close()
    assert not outside, f"requests outside the server: {outside}"
    assert not page.errors, f"script errors: {page.errors}"


# ---------------------------------------------------------------- pages


def test_home_lists_recent_runs_with_states(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    page = tab.open("/")
    page.wait_for_selector("table.runs tbody tr")
    assert tab.count("table.runs tbody tr") == len(data.runs) + 1  # the demo and the reports run
    newest = page.locator("table.runs tbody tr").first
    assert "reports-1" in newest.inner_text()
    assert tab.count("table.runs .badge.state-COMPLETE") == len(data.runs) + 1
    assert "accuracy" in page.locator("table.runs thead").text_content()
    assert page.locator(".stat").first.inner_text().startswith(str(len(data.runs) + 1))
    tab.screenshot("home")
    # state filter: a shareable link
    page.click(".chip:has-text('Failed')")
    page.wait_for_selector(".state-box.empty")
    assert "state=FAILED" in page.url
    assert "No failed runs" in page.inner_text("#app")


def test_run_page_steps_graph_metrics_and_figures(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    run_id = data.runs["logreg-C1"]
    page = tab.open(f"/runs/{run_id}")
    assert data.run_names["logreg-C1"] in page.inner_text("h1")
    # prepare (cached), train, evaluate and their five artifacts
    page.wait_for_selector(".step-graph .gnode")
    assert tab.count(".step-graph .gnode.execution") == 3
    assert tab.count(".step-graph .gnode.artifact") == 5
    assert tab.count(".step-graph .gnode.state-CACHED") == 1
    assert tab.count(".step-graph .gedge") == 8
    metrics = page.locator("section.card:has(h2:text-is('Metrics'))").inner_text()
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert name in metrics
    assert (
        "train.model_type"
        in page.locator("section.card:has(h2:text-is('Parameters'))").inner_text()
    )
    cm = tab.wait_plotted(".figure[data-kind=CONFUSION_MATRIX]")
    assert sum(map(sum, cm["data"][0]["z"])) == 143
    tab.wait_plotted(".figure[data-kind=ROC_CURVE]")
    tab.screenshot("run", full_page=True)
    # a node of the graph opens its page
    page.locator(".step-graph .gnode.execution", has_text="evaluate").click()
    page.wait_for_selector(
        f'#app[data-ready="/executions/{data.executions["logreg-C1"]["evaluate"]}"]'
    )


def test_artifact_page_confusion_matrix_toggle_and_roc(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    artifact = data.classification["forest-50"]
    page = tab.open(f"/artifacts/{artifact}")
    assert "classification" in page.inner_text("h1")
    assert tab.count("#download") == 0  # metrics only: no bytes, no URI, nothing to fetch
    counts = tab.wait_plotted(".figure[data-kind=CONFUSION_MATRIX]")
    z = counts["data"][0]["z"]
    assert sum(map(sum, z)) == 143 and all(float(v).is_integer() for row in z for v in row)
    roc = tab.wait_plotted(".figure[data-kind=ROC_CURVE]")
    names = [t.get("name", "") for t in roc["data"]]
    assert any("AUC = 0.99" in n for n in names), names
    pr = tab.wait_plotted(".figure[data-kind=PRECISION_RECALL]")
    assert pr["layout"]["xaxis"]["title"]["text"] == "Recall"
    tab.screenshot("artifact-classification", full_page=True)

    page.click(".segmented button[data-mode=normalized]")
    page.wait_for_selector(".figure[data-kind=CONFUSION_MATRIX][data-normalized=true].plotted")
    z = page.evaluate(
        "() => document.querySelector('.figure[data-kind=CONFUSION_MATRIX]').data[0].z"
    )
    assert all(abs(sum(row) - 1) < 1e-9 for row in z)
    assert "norm=1" in page.url
    tab.screenshot("artifact-confusion-normalized")
    # the link keeps the choice
    page.reload()
    page.wait_for_selector(".figure[data-kind=CONFUSION_MATRIX].plotted")
    assert page.get_attribute(".segmented button[data-mode=normalized]", "aria-pressed") == "true"
    # the page's lineage: the producing evaluate step and the start node
    page.wait_for_selector(".explorer.compact .gnode.start")
    assert "evaluate" in page.locator(".explorer.compact").inner_text()


def test_artifact_page_metrics_and_html_document(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    page = tab.open(f"/artifacts/{data.metrics['forest-200']}")
    table = tab.wait_plotted(".figure[data-kind=METRICS_TABLE]")
    assert "accuracy" in table["data"][0]["cells"]["values"][0]
    page = tab.open(f"/artifacts/{data.html_id}")
    frame = page.wait_for_selector("iframe.document-frame").content_frame()
    frame.wait_for_selector("h1")
    assert frame.inner_text("h1") == "Evaluation report"
    assert frame.evaluate("() => window.pwned === undefined && !document.querySelector('script')")
    assert page.evaluate("() => window.pwned === undefined")
    tab.screenshot("artifact-html")
    # the download button's link serves the stored bytes (blob routes)
    download = page.request.get(tab.base + page.get_attribute("#download", "href").lstrip("/"))
    assert download.ok and "Evaluation report" in download.text()


def test_execution_page(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    execution = data.executions["forest-200"]["train"]
    page = tab.open(f"/executions/{execution}")
    assert "train" in page.inner_text("h1")
    inputs = page.locator("section.card:has(h2:text-is('Inputs'))").inner_text()
    outputs = page.locator("section.card:has(h2:text-is('Outputs'))").inner_text()
    assert "train" in inputs and "Dataset" in inputs
    assert "model" in outputs and "Model" in outputs
    assert (
        "random_forest" in page.locator("section.card:has(h2:text-is('Parameters'))").inner_text()
    )
    page.wait_for_selector(".explorer.compact .gnode.start")
    assert tab.count(".explorer.compact .gnode") == 3
    tab.screenshot("execution", full_page=True)


def test_search_with_the_filter_language(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    page = tab.open("/search")
    page.fill("textarea[name=q]", "type = 'system.ClassificationMetrics'")
    page.press("textarea[name=q]", "Enter")
    page.wait_for_selector("#result-count")
    assert page.inner_text("#result-count").startswith(f"{len(data.runs)} matches")
    assert tab.count(".results tbody tr") == len(data.runs)
    assert "kind=artifacts" in page.url and "ClassificationMetrics" in unquote(page.url)
    tab.screenshot("search")
    # executions by state
    page.select_option("select[name=kind]", "executions")
    page.wait_for_selector(".results")
    page.fill("textarea[name=q]", "last_known_state = CACHED")
    page.click("button:has-text('Search')")
    page.wait_for_function(
        "() => document.querySelector('#result-count')?.textContent.startsWith('4 matches')"
    )
    # a bad filter: the error says what and where, nothing runs
    page.fill("textarea[name=q]", "type == 'system.Model'")
    page.press("textarea[name=q]", "Enter")
    page.wait_for_selector(".filter-error")
    error = page.inner_text(".filter-error")
    assert "INVALID_ARGUMENT" in error and "column" in error
    assert tab.count(".filter-input.invalid") == 1
    tab.screenshot("search-error")


def test_quick_search_by_name(tab: Page, ui: tuple[UIData, str]) -> None:
    page = tab.open("/")
    page.fill("#quick-search input", "forest")
    page.press("#quick-search input", "Enter")
    page.wait_for_selector("section.card:has(h2:has-text('Runs (2)'))")
    page.fill("#quick-search input", "Execution:3")
    page.press("#quick-search input", "Enter")
    page.wait_for_selector('#app[data-ready="/executions/3"]')


def test_empty_and_error_states(tab: Page) -> None:
    page = tab.open("/runs/999999")
    assert "There is no pipeline run 999999" in page.inner_text("#app")
    page = tab.open("/artifacts/999999")
    assert "There is no artifact 999999" in page.inner_text("#app")
    page = tab.open("/lineage?node=Artifact:999999")
    page.wait_for_selector(".explorer .state-box.error")
    assert "NOT_FOUND" in page.inner_text(".explorer .state-box.error")
    assert "999999" in page.inner_text(".explorer .state-box.error")
    page = tab.open("/lineage?node=nonsense")
    assert "not an artifact or execution id" in page.inner_text("#app")
    page = tab.open("/compare?runs=2,999999")
    assert "NOT_FOUND" in page.inner_text("#app")
    page = tab.open("/no/such/page")
    assert "There is no such page" in page.inner_text("#app")


# ---------------------------------------------------------------- lineage explorer


def test_lineage_explorer_expands_by_clicks(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    model = data.models["forest-50"]
    train = data.executions["forest-50"]["train"]
    page = tab.open(f"/lineage?node=Artifact:{model}")
    page.wait_for_selector(".explorer .gnode.start")
    # depth 1: the model, the step that wrote it, the step that read it
    assert tab.count(".explorer .gnode") == 3
    start = page.locator(".explorer .gnode.start")
    assert start.get_attribute("data-id") == gid("Artifact", model)
    tab.screenshot("lineage-start")

    train_node = page.locator(f'.explorer .gnode[data-id="{gid("Execution", train)}"]')
    train_node.locator(".handle.expand[data-dir=up]").click()
    page.wait_for_function("() => document.querySelectorAll('.explorer .gnode').length === 4")
    assert "open=Execution%3A" in page.url or "open=Execution:" in page.url
    # the train dataset came in, and the prepare steps behind it can be expanded too
    dataset = page.locator(".explorer .gnode.artifact", has_text="train")
    dataset.locator(".handle.expand[data-dir=up]").click()
    page.wait_for_function("() => document.querySelectorAll('.explorer .gnode').length > 4")
    expanded = tab.count(".explorer .gnode")
    # select a node: its details, a link to its page
    dataset.click()
    page.wait_for_selector(".explorer-panel h3:text-is('train')")
    assert page.get_attribute(".explorer-panel a.btn.primary", "href").startswith("#/artifacts/")
    tab.screenshot("lineage-expanded")

    # the URL is the state: opening it again shows the same graph
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_function(
        f"() => document.querySelectorAll('.explorer .gnode').length === {expanded}"
    )
    # depth: two hops up- and downstream from the start
    page.select_option("select[name=depth]", "2")
    page.wait_for_function(
        "() => document.querySelectorAll('.explorer .gnode').length > 3 && !document.querySelector('.explorer.busy')"
    )
    assert "depth=2" in page.url
    # double-click jumps to the node's page
    page.locator(f'.explorer .gnode[data-id="{gid("Execution", train)}"]').dblclick()
    page.wait_for_selector(f'#app[data-ready="/executions/{train}"]')


def test_lineage_explorer_recovers_from_a_failed_reload(tab: Page, ui: tuple[UIData, str]) -> None:
    """The server unreachable while the depth changes: an error with a way to retry
    instead of the old drawing (whose data is gone); the retry draws it and it works."""
    data, _ = ui
    model = data.models["forest-50"]
    page = tab.open(f"/lineage?node=Artifact:{model}")
    page.wait_for_selector(".explorer .gnode.start")
    page.route("**/graphql", lambda route: route.abort())
    page.select_option("select[name=depth]", "2")
    page.wait_for_selector(".explorer .state-box.error button:text-is('Try again')")
    assert page.locator(".explorer-canvas").is_hidden()
    page.unroute("**/graphql")
    page.click(".explorer .state-box.error button:text-is('Try again')")
    page.wait_for_selector(".explorer .gnode.start")
    assert tab.count(".explorer .state-box.error") == 0
    assert "depth=2" in page.url
    nodes = tab.count(".explorer .gnode")
    page.locator(".explorer .handle.expand").first.click()  # and it works: expand further
    page.wait_for_function(f"() => document.querySelectorAll('.explorer .gnode').length > {nodes}")
    # the aborted requests were logged by the browser; nothing else went wrong
    tab.errors[:] = [e for e in tab.errors if "Failed to load resource" not in e]


def test_layout_of_cycles_and_wide_layers(tab: Page) -> None:
    """MLMD accepts cycles: a -> b -> c -> a is laid out in three columns (not all in the
    first); a run of 30 independent steps stacks 30 in one column."""
    page = tab.open("/")
    layers = page.evaluate(
        """async () => {
          const { layoutGraph } = await import('/static/graph.js');
          const edges = [['a', 'b'], ['b', 'c'], ['c', 'a'], ['x', 'x']]
            .map(([source, target]) => ({ source, target }));
          const cycle = layoutGraph(['a', 'b', 'c', 'x'], edges);
          const ids = []; const wide = [];
          for (let i = 0; i < 30; i += 1) {
            ids.push(`s${i}`, `o${i}`); wide.push({ source: `s${i}`, target: `o${i}` });
          }
          const columns = new Map();
          for (const { layer } of layoutGraph(ids, wide).values()) {
            columns.set(layer, (columns.get(layer) || 0) + 1);
          }
          return { cycle: ['a', 'b', 'c', 'x'].map((id) => cycle.get(id).layer),
                   tallest: Math.max(...columns.values()) };
        }"""
    )
    assert layers["cycle"][:3] == [0, 1, 2], layers
    assert layers["tallest"] == 30, layers


def test_large_lineage_opens_collapsed_and_expands_progressively(
    tab: Page, ui: tuple[UIData, str]
) -> None:
    data, _ = ui
    hub = data.hub_id
    started = time.monotonic()
    page = tab.open(f"/lineage?node=Artifact:{hub}")
    page.wait_for_selector(".explorer .gnode.group")
    opened = time.monotonic() - started
    # 1,001 nodes loaded, two drawn: the dataset and one group of its 1,000 readers
    assert tab.count(".explorer .gnode") == 2
    group = page.locator(".explorer .gnode.group")
    text = group.text_content() or ""
    assert f"{FAN_OUT:,} more executions" in text and "ContainerExecution" in text
    assert page.inner_text(".explorer-status").startswith(
        f"1 of {FAN_OUT + 1:,} loaded nodes shown"
    )
    tab.screenshot("lineage-large-collapsed")

    timings = []
    for step in range(1, 3):
        before = tab.count(".explorer .gnode")
        t0 = time.monotonic()
        page.locator(".explorer .gnode.group").click()
        page.wait_for_function(
            f"() => document.querySelectorAll('.explorer .gnode').length === {before + 25}"
        )
        timings.append(time.monotonic() - t0)
        assert f"{FAN_OUT - 25 * step:,} more" in (
            page.locator(".explorer .gnode.group").text_content() or ""
        )
    # expand one revealed step downstream: one more hop loads, on demand
    # (one of the 25 just shown: the view pans to keep new nodes on screen)
    first = data.fan_execution_ids[40]
    before = tab.count(".explorer .gnode")
    t0 = time.monotonic()
    page.locator(
        f'.explorer .gnode[data-id="{gid("Execution", first)}"] .handle.expand[data-dir=down]'
    ).click()
    page.wait_for_function(
        f"() => document.querySelectorAll('.explorer .gnode').length === {before + 1}"
    )
    timings.append(time.monotonic() - t0)
    assert page.locator(".explorer .gnode.artifact", has_text="model-0040").count() == 1
    render_ms = float(page.get_attribute(".explorer", "data-render-ms") or "0")
    tab.screenshot("lineage-large-expanded")
    assert max(timings) < EXPAND_SECONDS, timings
    assert opened < 10, opened
    assert render_ms < 1000, render_ms

    # two hops: 2,001 nodes in reach, the nearest 1,500 load, still drawn collapsed
    page = tab.open(f"/lineage?node=Artifact:{hub}&depth=2")
    page.wait_for_selector(".explorer .gnode.group")
    assert tab.count(".explorer .gnode") <= 30
    assert page.is_visible(".explorer-notice")
    # "show all" draws every member and the page still answers
    page.locator(".explorer .gnode.group").click()
    page.wait_for_selector(".explorer-panel button:has-text('Show all')")
    t0 = time.monotonic()
    page.click(".explorer-panel button:has-text('Show all')")
    page.wait_for_function(
        f"() => document.querySelectorAll('.explorer .gnode.execution').length === {FAN_OUT}"
    )
    assert time.monotonic() - t0 < 3 * EXPAND_SECONDS
    tab.screenshot("lineage-large-all")


# ---------------------------------------------------------------- compare


def test_compare_two_runs(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    page = tab.open("/")
    page.wait_for_selector("table.runs tbody tr")
    for label in ("logreg-C20", "forest-200"):
        page.check(f"table.runs tr[data-run='{data.runs[label]}'] input.run-check")
    page.click("#compare-selected")
    page.wait_for_selector('#app[data-ready="/compare"]')
    page.wait_for_selector("table.compare")
    heads = page.locator("table.compare th.run-head").all_inner_texts()
    assert len(heads) == 2 and any("forest-200" in h for h in heads)
    body = page.inner_text("table.compare")
    assert "roc_auc" in body and "train.model_type" in body and "random_forest" in body
    assert tab.count("table.compare tr.differs") >= 5
    roc = tab.wait_plotted(".figure[data-kind=COMPARE_ROC]")
    curves = [t for t in roc["data"] if "Chance" not in t.get("name", "")]
    assert len(curves) == 2
    tab.wait_plotted(".figure[data-kind=COMPARE_METRICS]")
    tab.screenshot("compare", full_page=True)
    page.check("label.toggle input")
    page.wait_for_function("() => location.hash.includes('diff=1')")
    page.wait_for_selector("table.compare")
    assert "prepare.seed" not in page.inner_text("table.compare")
    # a run named twice in the URL is one column
    forest = data.runs["forest-200"]
    page = tab.open(f"/compare?runs={forest},{forest},{data.runs['logreg-C20']}")
    page.wait_for_selector("table.compare")
    assert tab.count("table.compare th.run-head") == 2


def test_lineage_link_with_an_unknown_direction(tab: Page, ui: tuple[UIData, str]) -> None:
    data, _ = ui
    page = tab.open(f"/lineage?node=Artifact:{data.models['forest-50']}&dir=SIDEWAYS")
    page.wait_for_selector(".explorer .gnode.start")  # both ways, as without dir
    assert tab.count(".explorer .state-box.error") == 0
    assert page.locator("select[name=direction]").input_value() == "BOTH"


def test_a_long_run_name_wraps_instead_of_hiding_the_columns(browser: Any, tmp_path: Path) -> None:
    """A run name with no break opportunity (150 characters) wraps in the runs table: the
    state, steps, duration and metric columns stay in view, no horizontal scrolling."""
    import lineage
    from lineage.client.client import Client
    from lineage.store.engine import default_database_url

    data_dir = tmp_path / "long"
    client = Client(str(data_dir))
    with client.start_run("long", "run" + "x" * 150):
        with lineage.step("only") as step:
            step.output("metrics", lineage.Metrics).log_metric("accuracy", 0.5)
    client.close()
    server = LineageServer(default_database_url(str(data_dir)), data_dir, http=True).start()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = Page(context.new_page(), f"http://127.0.0.1:{server.http_port}/")
        page = tab.open("/")
        page.wait_for_selector("table.runs tbody tr")
        widths = page.evaluate(
            "() => { const w = document.querySelector('table.runs').closest('.table-wrap');"
            " return [w.scrollWidth, w.clientWidth]; }"
        )
        assert widths[0] <= widths[1], widths
        assert page.locator("table.runs tbody td.num").last.is_visible()
        assert not tab.errors, tab.errors
    finally:
        context.close()
        server.stop()


def test_odd_names_values_and_a_phone_screen(browser: Any, tmp_path: Path) -> None:
    """What the plain MLMD client writes is found by quick search (no display_name
    property needed); a name opening with U+202E reverses only itself; a metric of 1e300
    prints in exponent form; at phone width nothing scrolls sideways."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    import lineage
    from lineage.artifacts import HTML
    from lineage.client.client import Client
    from lineage.store.engine import default_database_url

    data_dir = tmp_path / "odd"
    client = Client(str(data_dir))
    with client.start_run("odd", "\u202eevil-run"):
        with lineage.step("only") as step:
            step.output("metrics", lineage.Metrics).log_metric("huge", 1e300)
            report = step.output("report", HTML)
            Path(report.path).write_text("<h1>gone soon</h1>")
    client.close()
    for stored in (data_dir / "blobs").rglob("*"):  # the report's bytes vanish from storage
        if stored.is_file():
            stored.unlink()
    server = LineageServer(default_database_url(str(data_dir)), data_dir, http=True).start()
    store = server.client()
    plain_type = store.put_artifact_type(mlmd.ArtifactType(name="plain.File"))
    named = mlmd.Artifact(type_id=plain_type, name="other", uri="/2")
    named.custom_properties["display_name"].string_value = "hubB"
    named.custom_properties["big"].int_value = 2**53 + 1  # JavaScript numbers round it
    store.put_artifacts([mlmd.Artifact(type_id=plain_type, name="hubA", uri="/1"), named])
    group_type = store.put_context_type(mlmd.ContextType(name="plain.Group"))
    [group] = store.put_contexts([mlmd.Context(type_id=group_type, name="big-group")])
    many = store.put_artifacts(
        [mlmd.Artifact(type_id=plain_type, uri=f"/many/{i}") for i in range(60)]
    )
    store.put_attributions_and_associations(
        [mlmd.Attribution(context_id=group, artifact_id=i) for i in many], []
    )
    context = browser.new_context(viewport=VIEWPORT)
    phone = browser.new_context(viewport={"width": 375, "height": 740})
    try:
        tab = Page(context.new_page(), f"http://127.0.0.1:{server.http_port}/")
        page = tab.open("/search?text=hub")
        page.wait_for_selector("section.card:has(h2:has-text('Artifacts (2)'))")
        shown = page.inner_text("#app")
        assert "hubA" in shown and "hubB" in shown, shown
        page.locator("a", has_text="hubB").first.click()
        page.wait_for_selector('#app[data-ready^="/artifacts/"]')
        page.wait_for_selector("text=9007199254740993")  # exact, not ...992

        page = tab.open("/")
        page.wait_for_selector("table.runs tbody tr")
        assert page.locator("table.runs bdi", has_text="evil-run").count() >= 1
        [run_id] = [
            r["mlmdId"]
            for r in page.evaluate(
                "async () => (await (await fetch('/graphql', {method: 'POST',"
                " headers: {'content-type': 'application/json'}, body: JSON.stringify({query:"
                " '{ pipelineRuns(first: 5) { nodes { mlmdId } } }'})})).json())"
                ".data.pipelineRuns.nodes"
            )
        ]
        page = tab.open(f"/runs/{run_id}")
        text = page.inner_text("#app")
        assert "1.000e+300" in text, text
        assert "000,000,000" not in text

        # A document whose bytes are gone: an error in its own card, the page stands.
        [report_id] = [
            n["mlmdId"]
            for n in page.evaluate(
                "async () => (await (await fetch('/graphql', {method: 'POST',"
                " headers: {'content-type': 'application/json'}, body: JSON.stringify({query:"
                " '{ artifacts(types: [\"system.HTML\"]) { nodes { mlmdId } } }'})})).json())"
                ".data.artifacts.nodes"
            )
        ]
        page = tab.open(f"/artifacts/{report_id}")
        page.wait_for_selector("section.card:has(h2:has-text('Document')) .state-box.error")
        assert page.locator("h1").inner_text().startswith("report")

        # A list cut short says so, and links to all of it.
        page = tab.open(f"/contexts/{group}")
        page.click("text=50 of 60 shown · all →")
        page.wait_for_selector("#result-count")
        assert page.inner_text("#result-count").startswith("60 matches")

        small = Page(phone.new_page(), f"http://127.0.0.1:{server.http_port}/")
        for fragment in ("/", f"/runs/{run_id}", "/search"):
            page = small.open(fragment)
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], (fragment, widths)
            assert page.locator("#quick-search input").is_visible()
        assert not tab.errors and not small.errors, (tab.errors, small.errors)
    finally:
        context.close()
        phone.close()
        server.stop()


# Holds what the page sends over websockets until window.releaseSockets() is called.
HOLD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const held = [];
  let open = false;
  window.releaseSockets = () => { open = true; for (const send of held.splice(0)) send(); };
  window.WebSocket = class extends Native {
    send(data) { if (open) super.send(data); else held.push(() => super.send(data)); }
  };
})();
"""


def test_running_run_page_sees_a_change_made_before_it_subscribed(
    browser: Any, tmp_path: Path
) -> None:
    """A step that ends between the page's query and the start of its subscription still
    shows: the subscription's first answer (the current states) differs from the page."""
    import lineage
    from lineage.client.client import Client
    from lineage.store.engine import default_database_url

    data_dir = tmp_path / "late"
    server = LineageServer(default_database_url(str(data_dir)), data_dir, http=True).start()
    client = Client(f"grpc://127.0.0.1:{server.port}")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(HOLD_SOCKETS)
        tab = Page(context.new_page(), f"http://127.0.0.1:{server.http_port}/")
        with client.start_run("late", "late-1") as run:
            step = lineage.step("only")
            step.__enter__()
            page = tab.open(f"/runs/{run.run_context_id}")
            page.wait_for_selector(".step-graph .gnode.execution.state-RUNNING")
            step.__exit__(None, None, None)  # before the page has subscribed
            page.evaluate("window.releaseSockets()")
            # A refresh empties the page before the new answer fills it: wait for the
            # step as it is now, not merely for the old one to go.
            page.wait_for_selector(".step-graph .gnode.execution.state-COMPLETE", timeout=4500)
        assert tab.count(".step-graph .gnode.execution.state-COMPLETE") == 1
        assert tab.count(".step-graph .gnode.execution.state-RUNNING") == 0
        assert not tab.errors, tab.errors
    finally:
        context.close()
        client.close()
        server.stop()


def test_running_run_page_follows_its_steps_live(browser: Any, tmp_path: Path) -> None:
    """A run still going: its page subscribes (websocket, graphql-transport-ws) and shows a
    step's new state within a few seconds, sooner than the 5-second fallback refresh."""
    import lineage
    from lineage.client.client import Client
    from lineage.store.engine import default_database_url

    data_dir = tmp_path / "live"
    server = LineageServer(default_database_url(str(data_dir)), data_dir, http=True).start()
    client = Client(f"grpc://127.0.0.1:{server.port}")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = Page(context.new_page(), f"http://127.0.0.1:{server.http_port}/")
        sockets: list[str] = []
        tab.page.on("websocket", lambda ws: sockets.append(ws.url))
        with client.start_run("live", "live-1") as run:
            with lineage.step("first"):
                pass
            second = lineage.step("second")
            second.__enter__()  # RUNNING while the page is open
            page = tab.open(f"/runs/{run.run_context_id}")
            page.wait_for_selector(".step-graph .gnode.execution.state-RUNNING")
            assert "follows its steps live" in page.inner_text(".note.live")
            started = time.monotonic()
            second.__exit__(None, None, None)
            page.wait_for_selector(
                ".step-graph .gnode.execution.state-RUNNING", state="detached", timeout=4500
            )
            assert time.monotonic() - started < 4.5
        assert tab.count(".step-graph .gnode.execution.state-COMPLETE") == 2
        assert any(url.endswith("/graphql") for url in sockets), sockets
        assert not tab.errors, tab.errors
    finally:
        context.close()
        client.close()
        server.stop()
