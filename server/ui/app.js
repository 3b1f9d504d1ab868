// The Lineage web UI: a hash-routed single page; every page reads /graphql.
//
//   #/                         recent runs (filter by state, pick runs to compare)
//   #/runs/<id>                a run: steps graph, steps, metrics, parameters, figures
//   #/artifacts/<id>           an artifact: properties, viewers, download, lineage
//   #/executions/<id>          an execution: parameters, inputs, outputs, lineage
//   #/contexts/<id>            a context (a pipeline, ...)
//   #/search?kind=&q=          search with MLMD's filter language
//   #/lineage?node=&depth=&dir=&open=&rev=&sel=   the lineage explorer
//   #/compare?runs=1,2         runs side by side, ROC curves overlaid

import { emptyBox, errorBox, gql, loadingBox, plot, subscribe } from './gql.js';
import { LineageExplorer, canonical, layoutGraph, readable, staticGraph } from './graph.js';
import {
  clear, debounce, fmtBytes, fmtDuration, fmtNumber, fmtRelative, fmtTime, fmtValue, h, hashFor,
  pageOf, parseGlobalId, replaceHash, stateBadge, typeBadge,
} from './util.js';

const app = document.getElementById('app');
let renderToken = 0;
let stopLive = null; // ends the live updates of the page on screen, if it has any

function endLive() {
  if (stopLive) stopLive();
  stopLive = null;
}

// Render the current page again where the reader is (live pages).
function rerender(token) {
  if (token !== renderToken || document.hidden) return;
  const y = window.scrollY;
  route().then(() => window.scrollTo(0, y));
}

// ---------------------------------------------------------------- shared pieces

function pageHeader({ kicker, title, badges = [], actions = [], meta = [] }) {
  return h('div', { class: 'page-header' },
    h('div', { class: 'page-header-main' },
      kicker ? h('div', { class: 'kicker' }, kicker) : null,
      h('h1', null, title, ' ', badges),
      meta.length ? h('div', { class: 'meta-line' }, meta.map((m, i) => [i ? h('span', { class: 'sep' }, '·') : null, m])) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

function card(title, body, { actions = null, id = null, cls = '' } = {}) {
  return h('section', { class: `card ${cls}`, id },
    title ? h('div', { class: 'card-head' }, h('h2', null, title), actions) : null,
    h('div', { class: 'card-body' }, body));
}

function table(columns, rows, { cls = '', empty = 'Nothing here.' } = {}) {
  if (!rows.length) return h('p', { class: 'muted empty-line' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', { class: `table ${cls}` },
    h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.cls || '' }, c.label)))),
    h('tbody', null, rows.map((row) => h('tr', { class: row.__cls || '' }, columns.map((c) => h('td', { class: c.cls || '' }, c.render(row))))))));
}

function link(id, text) {
  return h('a', { href: pageOf(id) }, text);
}

function nodeLink(node) {
  if (!node) return '—';
  return link(node.id, node.displayName || node.name || readable(node.id));
}

function propertyValue(p) {
  const v = p.value;
  if (v !== null && typeof v === 'object') {
    const text = JSON.stringify(v, null, 2);
    const size = Array.isArray(v) ? `${v.length} items` : `${Object.keys(v).length} keys`;
    return h('details', { class: 'json' }, h('summary', null, `${p.type.toLowerCase()} (${size})`), h('pre', null, text));
  }
  if (typeof v === 'string' && /^(https?|s3|gs|minio|file):\/\//.test(v)) return h('span', { class: 'mono wrap' }, v);
  if (typeof v === 'number' && /(_ms|time_since_epoch)$/.test(p.name || '') && v > 1e11) {
    return h('span', null, fmtTime(new Date(v).toISOString()), h('span', { class: 'muted small' }, ` (${v})`));
  }
  return h('span', { class: typeof v === 'number' ? 'num' : '' }, fmtValue(v));
}

function propertiesTable(props) {
  return table([
    { label: 'Name', render: (p) => h('code', null, p.name) },
    { label: 'Type', cls: 'muted narrow', render: (p) => p.type.toLowerCase() },
    { label: 'Value', render: propertyValue },
  ], props, { cls: 'props', empty: 'No properties.' });
}

function stepCountsBar(counts, total) {
  const sum = total || counts.reduce((a, c) => a + c.count, 0);
  if (!sum) return h('span', { class: 'muted' }, 'no steps');
  return h('span', { class: 'stepbar', title: counts.map((c) => `${c.count} ${c.state.toLowerCase()}`).join(', ') },
    counts.map((c) => h('span', { class: `seg state-${c.state}`, style: `flex:${c.count}` })),
    h('span', { class: 'stepbar-label' }, `${sum} step${sum === 1 ? '' : 's'}`));
}

function setTitle(text) {
  document.title = text ? `${text} · Lineage` : 'Lineage';
}

function figureCard(fig, { extra = null, height = 380 } = {}) {
  const el = h('div', { class: 'figure', dataset: { kind: fig.kind } });
  const c = card(fig.title, [extra, el], { cls: 'figure-card' });
  plot(el, fig.figure, { height }).catch((err) => el.replaceChildren(errorBox(err)));
  return c;
}

// ---------------------------------------------------------------- home: recent runs

const RUN_FIELDS = 'id mlmdId name displayName state startTime durationSeconds pipeline { name } stepCount stepCounts { state count } metrics { name value }';

const RUNS_QUERY = `
query Runs($first: Int!, $after: String, $states: [RunState!]) {
  pipelineRuns(first: $first, after: $after, states: $states) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ${RUN_FIELDS} }
  }
  all: pipelineRuns(first: 1) { totalCount }
  running: pipelineRuns(first: 1, states: [RUNNING]) { totalCount }
  failed: pipelineRuns(first: 1, states: [FAILED]) { totalCount }
  complete: pipelineRuns(first: 1, states: [COMPLETE]) { totalCount }
}`;

const PREFERRED_METRICS = ['accuracy', 'roc_auc', 'f1', 'precision', 'recall', 'loss'];

function metricColumns(runs, n = 3) {
  const seen = new Map();
  for (const r of runs) for (const m of r.metrics) seen.set(m.name, (seen.get(m.name) || 0) + 1);
  const names = [...seen.keys()];
  names.sort((a, b) => {
    const pa = PREFERRED_METRICS.indexOf(a); const pb = PREFERRED_METRICS.indexOf(b);
    return (pa < 0 ? 99 : pa) - (pb < 0 ? 99 : pb) || seen.get(b) - seen.get(a) || a.localeCompare(b);
  });
  return names.slice(0, n);
}

async function homePage(root, params, token) {
  setTitle('Runs');
  const state = params.get('state') || '';
  const selected = new Set();
  const states = state ? [state] : null;
  root.append(pageHeader({ title: 'Pipeline runs', meta: [h('span', { class: 'muted' }, 'Most recent first')] }));
  const summary = h('div', { class: 'summary-row' });
  const body = h('div', null, loadingBox('Loading runs…'));
  const compareButton = h('a', { class: 'btn primary disabled', href: '#/compare', 'aria-disabled': 'true', id: 'compare-selected' }, 'Compare selected');
  const filterChips = h('div', { class: 'chips', role: 'tablist' },
    [['', 'All'], ['RUNNING', 'Running'], ['FAILED', 'Failed'], ['COMPLETE', 'Complete'], ['CANCELED', 'Canceled']].map(([v, label]) =>
      h('a', { class: `chip${v === state ? ' active' : ''}`, href: hashFor('/', { state: v }), role: 'tab' }, label)));
  root.append(summary, card(null, [h('div', { class: 'toolbar' }, filterChips, h('span', { class: 'grow' }), compareButton), body]));

  const rows = [];
  let columns = null;
  const tbody = h('tbody');
  const updateCompare = () => {
    const ids = [...selected];
    compareButton.classList.toggle('disabled', ids.length < 2);
    compareButton.setAttribute('aria-disabled', ids.length < 2 ? 'true' : 'false');
    compareButton.href = hashFor('/compare', { runs: ids });
    compareButton.textContent = ids.length ? `Compare selected (${ids.length})` : 'Compare selected';
  };
  const renderRow = (r) => {
    const metrics = new Map(r.metrics.map((m) => [m.name, m.value]));
    const check = h('input', { type: 'checkbox', 'aria-label': `Select ${r.name}`, class: 'run-check', value: r.mlmdId });
    check.addEventListener('change', () => { if (check.checked) selected.add(r.mlmdId); else selected.delete(r.mlmdId); updateCompare(); });
    return h('tr', { dataset: { run: r.mlmdId } },
      h('td', { class: 'narrow' }, check),
      h('td', null, h('a', { href: `#/runs/${r.mlmdId}`, class: 'strong' }, r.displayName || r.name), h('div', { class: 'muted small' }, r.pipeline ? r.pipeline.name : '—')),
      h('td', null, stateBadge(r.state)),
      h('td', null, stepCountsBar(r.stepCounts, r.stepCount)),
      h('td', { title: fmtTime(r.startTime) }, fmtRelative(r.startTime)),
      h('td', { class: 'num' }, fmtDuration(r.durationSeconds)),
      columns.map((name) => h('td', { class: 'num' }, metrics.has(name) ? fmtNumber(metrics.get(name)) : h('span', { class: 'muted' }, '—'))));
  };
  const more = h('button', { class: 'btn', type: 'button' }, 'Load more');
  const load = async (after) => {
    const data = await gql(RUNS_QUERY, { first: 25, after, states });
    if (token !== renderToken) return;
    const conn = data.pipelineRuns;
    if (!after) {
      summary.replaceChildren(
        statTile('Runs', data.all.totalCount, ''),
        statTile('Running', data.running.totalCount, 'RUNNING'),
        statTile('Failed', data.failed.totalCount, 'FAILED'),
        statTile('Complete', data.complete.totalCount, 'COMPLETE'));
      if (!conn.nodes.length) {
        body.replaceChildren(state
          ? emptyBox(`No ${state.toLowerCase()} runs.`, h('a', { href: '#/' }, 'Show all runs'))
          : emptyBox('No pipeline runs yet.', h('span', null, 'Record some with ', h('code', null, 'lineage demo'), ' or the Python SDK (', h('code', null, 'lineage.start_run'), ').')));
        return;
      }
      columns = metricColumns(conn.nodes);
      body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'table runs' },
        h('thead', null, h('tr', null, h('th', { class: 'narrow' }, ''), h('th', null, 'Run'), h('th', null, 'State'), h('th', null, 'Steps'),
          h('th', null, 'Started'), h('th', { class: 'num' }, 'Duration'), columns.map((c) => h('th', { class: 'num' }, c)))),
        tbody)), h('div', { class: 'table-foot' }, h('span', { class: 'muted', id: 'runs-count' }), more));
    }
    for (const r of conn.nodes) { rows.push(r); tbody.append(renderRow(r)); }
    const count = body.querySelector('#runs-count');
    if (count) count.textContent = `${rows.length} of ${conn.totalCount} run${conn.totalCount === 1 ? '' : 's'}`;
    more.hidden = !conn.pageInfo.hasNextPage;
    more.onclick = async () => {
      more.disabled = true; more.textContent = 'Loading…';
      try { await load(conn.pageInfo.endCursor); } catch (err) { body.append(errorBox(err)); }
      more.disabled = false; more.textContent = 'Load more';
    };
  };
  try {
    await load(null);
  } catch (err) {
    body.replaceChildren(errorBox(err, () => route()));
  }
}

function statTile(label, value, state) {
  return h('a', { class: `stat${state ? ` stat-${state}` : ''}`, href: hashFor('/', { state }) },
    h('span', { class: 'stat-value' }, fmtNumber(value)), h('span', { class: 'stat-label' }, label));
}

// ---------------------------------------------------------------- run page

// Artifacts listed on a run's page (the most the API gives); when that many, a link to
// the search for all of them.
const RUN_ARTIFACTS = 100;
const RUN_QUERY = `
query Run($id: ID!) {
  pipelineRun(id: $id) {
    id mlmdId name displayName state startTime endTime durationSeconds note labels
    pipeline { id mlmdId name }
    stepCount stepCounts { state count }
    steps {
      id mlmdId displayName typeName state startTime durationSeconds
      inputs { id mlmdId displayName typeName state }
      outputs { id mlmdId displayName typeName state }
    }
    metrics { name qualifiedName value artifact { id mlmdId displayName } }
    parameters { name value step { id mlmdId displayName } }
    artifacts(first: ${RUN_ARTIFACTS}) { id mlmdId displayName typeName state }
  }
}`;

function stepGraphData(steps) {
  const nodes = new Map();
  const edges = [];
  const add = (n, kind) => {
    if (!nodes.has(n.id)) nodes.set(n.id, { id: n.id, kind, name: n.displayName, type: n.typeName, state: n.state });
  };
  for (const s of steps) {
    add(s, 'execution');
    for (const a of s.inputs) { add(a, 'artifact'); edges.push({ source: a.id, target: s.id, type: 'INPUT' }); }
    for (const a of s.outputs) { add(a, 'artifact'); edges.push({ source: s.id, target: a.id, type: 'OUTPUT' }); }
  }
  return { nodes: [...nodes.values()], edges };
}

const RUN_CHANGES = `
subscription RunChanges($runId: ID!) {
  executionStateChanges(runId: $runId) { execution { id } state initial }
}`;

// While a run goes on, its page re-renders (keeping its place) when a step changes state
// or starts; where websockets do not get through, it looks again every 5 seconds. The
// subscription starts with the current states: any that differ from the ones the page
// shows (a step that changed between the page's query and the subscription) count too.
function followRun(id, token, note, shown) {
  const refresh = debounce(() => rerender(token), 200);
  const onChange = (data) => {
    const change = data.executionStateChanges;
    if (change.initial && shown.get(change.execution.id) === change.state) return;
    refresh();
  };
  stopLive = subscribe(RUN_CHANGES, { runId: `PipelineRun:${id}` }, onChange, () => {
    if (token !== renderToken) return;
    note.textContent = 'This run is still going: the page refreshes every 5 seconds.';
    setTimeout(() => rerender(token), 5000);
  });
}

async function runPage(root, id, params, token) {
  root.append(loadingBox('Loading run…'));
  const data = await gql(RUN_QUERY, { id: `PipelineRun:${id}` });
  if (token !== renderToken) return;
  clear(root);
  const run = data.pipelineRun;
  if (!run) { root.append(emptyBox(`There is no pipeline run ${id}.`, h('a', { href: '#/' }, 'Back to runs'))); return; }
  setTitle(run.displayName || run.name);
  root.append(pageHeader({
    kicker: h('span', null, h('a', { href: '#/' }, 'Runs'), ' / ', run.pipeline ? h('a', { href: `#/contexts/${run.pipeline.mlmdId}` }, run.pipeline.name) : 'run'),
    title: run.displayName || run.name,
    badges: [stateBadge(run.state)],
    meta: [`started ${fmtTime(run.startTime)}`, `duration ${fmtDuration(run.durationSeconds)}`, stepCountsBar(run.stepCounts, run.stepCount), h('code', null, `PipelineRun:${run.mlmdId}`)],
    actions: [h('a', { class: 'btn', href: hashFor('/compare', { runs: [run.mlmdId] }) }, 'Compare with…'),
      h('a', { class: 'btn', href: hashFor('/search', { kind: 'artifacts', q: `contexts_r.id = ${run.mlmdId}` }) }, 'Artifacts')],
  }));
  if (run.note) root.append(h('div', { class: 'note' }, run.note));
  if (run.state === 'RUNNING' || run.state === 'PENDING') {
    const note = h('div', { class: 'note live' }, 'This run is still going: the page follows its steps live.');
    root.append(note);
    followRun(id, token, note, new Map(run.steps.map((step) => [step.id, step.state])));
  }

  const graph = stepGraphData(run.steps);
  const graphBox = h('div', { class: 'step-graph' });
  root.append(card('Steps', [run.steps.length ? graphBox : emptyBox('This run has no steps yet.'),
    table([
      { label: 'Step', render: (s) => h('a', { href: `#/executions/${s.mlmdId}`, class: 'strong' }, s.displayName) },
      { label: 'State', render: (s) => stateBadge(s.state) },
      { label: 'Started', render: (s) => h('span', { title: fmtTime(s.startTime) }, fmtRelative(s.startTime)) },
      { label: 'Duration', cls: 'num', render: (s) => fmtDuration(s.durationSeconds) },
      { label: 'Inputs', render: (s) => s.inputs.map((a, i) => [i ? ', ' : '', link(a.id, a.displayName)]) },
      { label: 'Outputs', render: (s) => s.outputs.map((a, i) => [i ? ', ' : '', link(a.id, a.displayName)]) },
    ], run.steps, { empty: '' })], { actions: h('span', { class: 'muted small' }, 'Click a node to open it') }));
  if (run.steps.length) staticGraph(graphBox, graph.nodes, graph.edges, { height: Math.min(420, 120 + 60 * Math.max(...countPerLayer(graph))) });

  const grid = h('div', { class: 'grid-2' });
  grid.append(card('Metrics', table([
    { label: 'Metric', render: (m) => h('span', { class: 'strong' }, m.name) },
    { label: 'Value', cls: 'num', render: (m) => fmtNumber(m.value) },
    { label: 'Artifact', render: (m) => link(m.artifact.id, m.artifact.displayName) },
  ], run.metrics, { empty: 'No scalar metrics (system.Metrics artifacts) in this run.' })));
  grid.append(card('Parameters', table([
    { label: 'Parameter', render: (p) => h('code', null, p.name) },
    { label: 'Value', render: (p) => propertyValue({ value: p.value, type: typeof p.value === 'object' ? 'STRUCT' : '' }) },
    { label: 'Step', render: (p) => link(p.step.id, p.step.displayName) },
  ], run.parameters, { empty: 'No parameters recorded.' })));
  root.append(grid);

  const figureArtifacts = run.artifacts.filter((a) => /ClassificationMetrics$/.test(a.typeName));
  if (figureArtifacts.length) {
    const figBox = h('div', { class: 'grid-2' }, loadingBox('Loading figures…'));
    root.append(h('h2', { class: 'section-title' }, 'Evaluation'), figBox);
    const query = `query { ${figureArtifacts.map((a, i) => `f${i}: figures(artifactId: "${a.id}") { kind title figure }`).join(' ')} }`;
    gql(query).then((figs) => {
      if (token !== renderToken) return;
      clear(figBox);
      figureArtifacts.forEach((a, i) => {
        for (const f of figs[`f${i}`]) {
          if (f.kind === 'PRECISION_RECALL') continue;
          figBox.append(figureCard({ ...f, title: h('span', null, f.title, ' · ', link(a.id, a.displayName)) }, { height: 340 }));
        }
      });
      if (!figBox.children.length) figBox.append(emptyBox('No figures.'));
    }).catch((err) => figBox.replaceChildren(errorBox(err)));
  }

  const more = run.artifacts.length >= RUN_ARTIFACTS;
  root.append(card(more ? `Artifacts (the first ${RUN_ARTIFACTS})` : 'Artifacts', table([
    { label: 'Artifact', render: (a) => link(a.id, a.displayName) },
    { label: 'Type', render: (a) => typeBadge(a.typeName) },
    { label: 'State', render: (a) => stateBadge(a.state) },
    { label: 'Id', cls: 'muted', render: (a) => `Artifact:${a.mlmdId}` },
  ], run.artifacts, { empty: 'No artifacts.' }),
  { actions: more ? h('a', { href: hashFor('/search', { kind: 'artifacts', q: `contexts_r.id = ${run.mlmdId}` }) }, 'All of them →') : null }));
}

function countPerLayer(graph) {
  // a height hint: how many nodes the layout stacks in its tallest column
  const per = new Map();
  for (const { layer } of layoutGraph(graph.nodes.map((n) => n.id), graph.edges).values()) {
    per.set(layer, (per.get(layer) || 0) + 1);
  }
  return [1, ...per.values()];
}

// ---------------------------------------------------------------- artifact page

const ARTIFACT_QUERY = `
query Artifact($id: ID!) {
  node(id: $id) {
    ... on Artifact {
      id mlmdId name displayName typeName uri state createTime lastUpdateTime note labels externalId
      properties { name type value }
      customProperties { name type value }
      producer { id mlmdId displayName state run { mlmdId name } }
      consumers { id mlmdId displayName state run { mlmdId name } }
      contexts { id mlmdId name typeName }
    }
  }
}`;

const HIDDEN_PROPS = new Set(['confusionMatrix', 'confidenceMetrics', 'evaluationSlices']);

async function artifactPage(root, id, params, token) {
  root.append(loadingBox('Loading artifact…'));
  const data = await gql(ARTIFACT_QUERY, { id: `Artifact:${id}` });
  if (token !== renderToken) return;
  clear(root);
  const a = data.node;
  if (!a) { root.append(emptyBox(`There is no artifact ${id}.`, h('a', { href: '#/search?kind=artifacts' }, 'Search artifacts'))); return; }
  setTitle(a.displayName);
  const custom = new Map(a.customProperties.map((p) => [p.name, p.value]));
  const size = custom.get('lineage_size');
  const run = a.producer && a.producer.run;
  root.append(pageHeader({
    kicker: h('span', null, run ? [h('a', { href: `#/runs/${run.mlmdId}` }, run.name), ' / '] : null, 'Artifact'),
    title: a.displayName,
    badges: [typeBadge(a.typeName), ' ', stateBadge(a.state)],
    meta: [h('code', null, `Artifact:${a.mlmdId}`), `created ${fmtTime(a.createTime)}`, size !== undefined ? fmtBytes(size) : null].filter(Boolean),
    actions: [
      // Only where there are bytes to fetch: a stored blob, or a URI the server may read.
      custom.has('lineage_sha256') || a.uri
        ? h('a', { class: 'btn primary', href: `/artifacts/${a.mlmdId}/download`, download: '', id: 'download' }, '⬇ Download')
        : null,
      h('a', { class: 'btn', href: hashFor('/lineage', { node: `Artifact:${a.mlmdId}` }) }, 'Explore lineage'),
    ],
  }));
  if (a.note) root.append(h('div', { class: 'note' }, a.note));

  const overview = h('dl', { class: 'kv wide' },
    h('dt', null, 'URI'), h('dd', { class: 'mono wrap' }, a.uri || '—'),
    h('dt', null, 'Produced by'), h('dd', null, a.producer ? [link(a.producer.id, a.producer.displayName), ' ', stateBadge(a.producer.state), run ? [' in ', h('a', { href: `#/runs/${run.mlmdId}` }, run.name)] : null] : h('span', { class: 'muted' }, 'no producer recorded')),
    h('dt', null, 'Used by'), h('dd', null, a.consumers.length ? a.consumers.map((c, i) => [i ? ', ' : '', link(c.id, c.displayName), c.run ? h('span', { class: 'muted' }, ` (${c.run.name})`) : null]) : h('span', { class: 'muted' }, 'no consumers yet')),
    h('dt', null, 'Contexts'), h('dd', null, a.contexts.length ? a.contexts.map((c, i) => [i ? ', ' : '', h('a', { href: `#/contexts/${c.mlmdId}` }, c.name), h('span', { class: 'muted' }, ` ${c.typeName.replace(/^system\./, '')}`)]) : '—'),
    a.labels.length ? [h('dt', null, 'Labels'), h('dd', null, a.labels.map((l) => h('span', { class: 'chip static' }, l)))] : null,
    h('dt', null, 'Updated'), h('dd', null, fmtTime(a.lastUpdateTime)));
  root.append(card('Overview', overview));

  // viewers
  const viewers = h('div', { class: 'viewers' }, loadingBox('Loading viewers…'));
  root.append(viewers);
  const normalize = params.get('norm') === '1';
  const isDocument = a.typeName === 'system.HTML' || a.typeName === 'system.Markdown';
  loadViewers(viewers, a, normalize, isDocument, token).catch((err) => viewers.replaceChildren(errorBox(err)));

  const props = [...a.properties, ...a.customProperties.filter((p) => !HIDDEN_PROPS.has(p.name))];
  root.append(card('Properties', propertiesTable(props)));

  const lineageBox = h('div');
  root.append(card('Lineage', lineageBox, { actions: h('a', { href: hashFor('/lineage', { node: `Artifact:${a.mlmdId}` }) }, 'Open the explorer →') }));
  const explorer = new LineageExplorer(lineageBox, { start: `Artifact:${a.mlmdId}`, depth: 1, compact: true });
  explorer.init().catch(() => {});
}

async function loadViewers(box, a, normalize, isDocument, token) {
  const parts = [];
  if (isDocument) {
    // A document that cannot be read (its bytes gone from storage, damaged) is said in
    // its own card: the figures below still load.
    let doc = null;
    let problem = null;
    try {
      doc = (await gql('query($id: ID!) { document(artifactId: $id) { format html size truncated } }', { id: a.id })).document;
    } catch (err) {
      problem = err;
    }
    if (token !== renderToken) return;
    if (problem) {
      parts.push(card('Document', errorBox(problem)));
    } else if (!doc) {
      parts.push(card('Document', emptyBox('The server has no stored bytes for this document.', 'Only content uploaded through Lineage can be shown here.')));
    } else {
      const frame = h('iframe', { class: 'document-frame', sandbox: 'allow-same-origin', title: `${a.displayName} (sanitized)`, referrerpolicy: 'no-referrer' });
      frame.srcdoc = `<!doctype html><meta charset="utf-8"><base target="_blank"><style>body{font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;margin:16px 20px;max-width:900px}table{border-collapse:collapse}td,th{border:1px solid #e4e7eb;padding:4px 8px}pre,code{background:#f5f7fa;border-radius:4px}pre{padding:10px;overflow:auto}img{max-width:100%}</style>${doc.html}`;
      frame.addEventListener('load', () => {
        try { frame.style.height = `${Math.min(900, frame.contentDocument.documentElement.scrollHeight + 8)}px`; } catch (e) { /* cross-origin: keep the default */ }
      });
      parts.push(card(`${doc.format === 'markdown' ? 'Markdown' : 'HTML'} (sanitized)`, [doc.truncated ? h('p', { class: 'muted' }, 'Only the first 2 MB are shown.') : null, frame], { cls: 'document-card' }));
    }
  }
  const data = await gql('query($id: ID!, $n: Boolean!) { figures(artifactId: $id, normalize: $n) { kind title figure } }', { id: a.id, n: normalize });
  if (token !== renderToken) return;
  const figures = data.figures;
  const grid = h('div', { class: 'grid-2' });
  for (const f of figures) {
    if (f.kind === 'CONFUSION_MATRIX') {
      grid.append(confusionCard(a, f, normalize));
    } else if (f.kind === 'METRICS_TABLE' || f.kind === 'SLICED_METRICS') {
      parts.push(figureCard(f, { height: f.kind === 'SLICED_METRICS' ? 420 : Math.min(520, 120 + 34 * (f.figure.data?.[0]?.cells?.values?.[0]?.length || 5)) }));
    } else {
      grid.append(figureCard(f, { height: 380 }));
    }
  }
  if (grid.children.length) parts.push(grid);
  if (!parts.length) {
    // Nothing drawn: say why when its metadata has figure data that is malformed.
    const problems = (await gql('query($id: ID!) { figureProblems(artifactId: $id) }', { id: a.id })).figureProblems;
    if (token !== renderToken) return;
    parts.push(card('Viewers', problems.length
      ? [h('p', { class: 'muted' }, 'Its metadata holds figure data that cannot be drawn:'), h('ul', { class: 'problems' }, problems.map((p) => h('li', null, p)))]
      : h('p', { class: 'muted empty-line' }, `No viewer for a ${a.typeName}: its metadata has no metrics, confusion matrix or curves. Its properties are below; download it for the content.`)));
  }
  box.replaceChildren(...parts);
}

// A confusion matrix of many classes (or long label names) needs the height its figure
// asks for: in 380 px a 50 x 50 matrix shrinks to nothing.
function matrixHeight(figure) {
  return Math.min(1000, Math.max(380, (figure.layout && figure.layout.height) || 0));
}

function confusionCard(a, fig, normalize) {
  let current = normalize;
  const el = h('div', { class: 'figure', dataset: { kind: 'CONFUSION_MATRIX' } });
  const counts = h('button', { type: 'button', class: `seg-btn${current ? '' : ' active'}`, 'aria-pressed': String(!current), dataset: { mode: 'counts' } }, 'Counts');
  const norm = h('button', { type: 'button', class: `seg-btn${current ? ' active' : ''}`, 'aria-pressed': String(current), dataset: { mode: 'normalized' } }, 'Normalized');
  const toggle = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Confusion matrix values' }, counts, norm);
  const set = async (value) => {
    if (value === current) return;
    current = value;
    counts.classList.toggle('active', !value); norm.classList.toggle('active', value);
    counts.setAttribute('aria-pressed', String(!value)); norm.setAttribute('aria-pressed', String(value));
    el.classList.remove('plotted');
    replaceHash(`/artifacts/${a.mlmdId}`, { norm: value ? 1 : null });
    try {
      const data = await gql('query($id: ID!, $n: Boolean!) { figure(artifactId: $id, kind: CONFUSION_MATRIX, normalize: $n) { figure } }', { id: a.id, n: value });
      await plot(el, data.figure.figure, { height: matrixHeight(data.figure.figure) });
      el.dataset.normalized = String(value);
    } catch (err) {
      el.replaceChildren(errorBox(err));
    }
  };
  counts.addEventListener('click', () => set(false));
  norm.addEventListener('click', () => set(true));
  el.dataset.normalized = String(current);
  plot(el, fig.figure, { height: matrixHeight(fig.figure) }).catch((err) => el.replaceChildren(errorBox(err)));
  return card('Confusion matrix', el, { actions: toggle, cls: 'figure-card' });
}

// ---------------------------------------------------------------- execution page

const EXECUTION_QUERY = `
query Execution($id: ID!) {
  node(id: $id) {
    ... on Execution {
      id mlmdId name displayName typeName state startTime endTime durationSeconds createTime lastUpdateTime note labels
      parameters
      properties { name type value }
      customProperties { name type value }
      run { id mlmdId name state }
      events { type path { index key } artifact { id mlmdId displayName typeName state uri } }
      contexts { id mlmdId name typeName }
    }
  }
}`;

const INPUT_EVENT_TYPES = new Set(['INPUT', 'DECLARED_INPUT', 'INTERNAL_INPUT']);

async function executionPage(root, id, params, token) {
  root.append(loadingBox('Loading execution…'));
  const data = await gql(EXECUTION_QUERY, { id: `Execution:${id}` });
  if (token !== renderToken) return;
  clear(root);
  const x = data.node;
  if (!x) { root.append(emptyBox(`There is no execution ${id}.`, h('a', { href: '#/search?kind=executions' }, 'Search executions'))); return; }
  setTitle(x.displayName);
  const custom = new Map(x.customProperties.map((p) => [p.name, p.value]));
  const error = custom.get('lineage_error_message');
  const cachedFrom = custom.get('cached_execution_id');
  root.append(pageHeader({
    kicker: h('span', null, x.run ? [h('a', { href: `#/runs/${x.run.mlmdId}` }, x.run.name), ' / '] : null, 'Execution'),
    title: x.displayName,
    badges: [typeBadge(x.typeName), ' ', stateBadge(x.state)],
    meta: [h('code', null, `Execution:${x.mlmdId}`), `started ${fmtTime(x.startTime)}`, `duration ${fmtDuration(x.durationSeconds)}`],
    actions: [h('a', { class: 'btn', href: hashFor('/lineage', { node: `Execution:${x.mlmdId}` }) }, 'Explore lineage')],
  }));
  if (error) root.append(h('div', { class: 'state-box error' }, h('strong', null, 'Failed: '), h('span', { class: 'mono' }, String(error))));
  if (cachedFrom) {
    const source = /^\d+$/.test(String(cachedFrom))
      ? h('a', { href: `#/executions/${cachedFrom}` }, `Execution:${cachedFrom}`)
      : h('code', null, String(cachedFrom)); // not an id: shown, not linked
    root.append(h('div', { class: 'note' }, 'Served from cache: the outputs of ', source, '.'));
  }

  const io = (input) => x.events.filter((e) => INPUT_EVENT_TYPES.has(e.type) === input && e.artifact);
  const ioTable = (events, empty) => table([
    { label: 'Name', render: (e) => h('code', null, e.path.map((p) => p.key ?? p.index).join('.') || '—') },
    { label: 'Artifact', render: (e) => link(e.artifact.id, e.artifact.displayName) },
    { label: 'Type', render: (e) => typeBadge(e.artifact.typeName) },
    { label: 'State', render: (e) => [stateBadge(e.artifact.state), e.type === 'INPUT' || e.type === 'OUTPUT' ? null : h('span', { class: 'muted small' }, ` ${e.type.toLowerCase()}`)] },
  ], events, { empty });
  const grid = h('div', { class: 'grid-2' });
  grid.append(card('Inputs', ioTable(io(true), 'No input artifacts.')), card('Outputs', ioTable(io(false), 'No output artifacts.')));
  root.append(grid);

  const paramRows = Object.entries(x.parameters || {}).map(([name, value]) => ({ name, value }));
  const timing = h('dl', { class: 'kv' },
    h('dt', null, 'Started'), h('dd', null, fmtTime(x.startTime)),
    h('dt', null, 'Ended'), h('dd', null, fmtTime(x.endTime)),
    h('dt', null, 'Duration'), h('dd', null, fmtDuration(x.durationSeconds)),
    h('dt', null, 'Run'), h('dd', null, x.run ? [h('a', { href: `#/runs/${x.run.mlmdId}` }, x.run.name), ' ', stateBadge(x.run.state)] : '—'),
    h('dt', null, 'Contexts'), h('dd', null, x.contexts.map((c, i) => [i ? ', ' : '', h('a', { href: `#/contexts/${c.mlmdId}` }, c.name)])));
  const grid2 = h('div', { class: 'grid-2' });
  grid2.append(card('Parameters', table([
    { label: 'Name', render: (p) => h('code', null, p.name) },
    { label: 'Value', render: (p) => propertyValue({ value: p.value, type: 'STRUCT' }) },
  ], paramRows, { empty: 'No parameters.' })), card('Timing', timing));
  root.append(grid2);
  root.append(card('Properties', propertiesTable([...x.properties, ...x.customProperties.filter((p) => p.name !== 'inputs')])));
  const lineageBox = h('div');
  root.append(card('Lineage', lineageBox, { actions: h('a', { href: hashFor('/lineage', { node: `Execution:${x.mlmdId}` }) }, 'Open the explorer →') }));
  new LineageExplorer(lineageBox, { start: `Execution:${x.mlmdId}`, depth: 1, compact: true }).init().catch(() => {});
}

// ---------------------------------------------------------------- context page

const CONTEXT_QUERY = `
query Context($id: ID!) {
  node(id: $id) {
    ... on Context {
      id mlmdId name typeName createTime note
      asPipelineRun { mlmdId }
      properties { name type value }
      customProperties { name type value }
      artifactCount executionCount
      artifacts(first: 50) { id mlmdId displayName typeName state createTime }
      executions(first: 50) { id mlmdId displayName typeName state startTime }
      parents { id mlmdId name typeName }
      children { id mlmdId name typeName asPipelineRun { mlmdId state } }
    }
  }
}`;

// "Showing 50 of 300": the rest through the search, by context.
function allOf(kind, shown, count, contextId) {
  if (count <= shown) return null;
  return h('a', { href: hashFor('/search', { kind, q: `contexts_c.id = ${contextId}` }) }, `${shown} of ${count} shown · all →`);
}

async function contextPage(root, id, params, token) {
  root.append(loadingBox('Loading context…'));
  const data = await gql(CONTEXT_QUERY, { id: `Context:${id}` });
  if (token !== renderToken) return;
  clear(root);
  const c = data.node;
  if (!c) { root.append(emptyBox(`There is no context ${id}.`)); return; }
  if (c.asPipelineRun) { location.replace(`#/runs/${c.asPipelineRun.mlmdId}`); return; }
  setTitle(c.name);
  root.append(pageHeader({ kicker: 'Context', title: c.name, badges: [typeBadge(c.typeName)], meta: [h('code', null, `Context:${c.mlmdId}`), `created ${fmtTime(c.createTime)}`, `${c.executionCount} executions`, `${c.artifactCount} artifacts`] }));
  const contextLink = (x) => h('a', { href: x.asPipelineRun ? `#/runs/${x.asPipelineRun.mlmdId}` : `#/contexts/${x.mlmdId}` }, x.name);
  if (c.children.length) {
    root.append(card(`Children (${c.children.length})`, table([
      { label: 'Name', render: contextLink },
      { label: 'Type', render: (x) => typeBadge(x.typeName) },
      { label: 'State', render: (x) => (x.asPipelineRun ? stateBadge(x.asPipelineRun.state) : '—') },
    ], c.children)));
  }
  if (c.parents.length) root.append(card('Parents', table([{ label: 'Name', render: contextLink }, { label: 'Type', render: (x) => typeBadge(x.typeName) }], c.parents)));
  const grid = h('div', { class: 'grid-2' });
  grid.append(
    card(`Executions (${c.executionCount})`, table([
      { label: 'Execution', render: (x) => link(x.id, x.displayName) },
      { label: 'State', render: (x) => stateBadge(x.state) },
      { label: 'Started', render: (x) => fmtRelative(x.startTime) },
    ], c.executions, { empty: 'None.' }), { actions: allOf('executions', c.executions.length, c.executionCount, c.mlmdId) }),
    card(`Artifacts (${c.artifactCount})`, table([
      { label: 'Artifact', render: (x) => link(x.id, x.displayName) },
      { label: 'Type', render: (x) => typeBadge(x.typeName) },
      { label: 'Created', render: (x) => fmtRelative(x.createTime) },
    ], c.artifacts, { empty: 'None.' }), { actions: allOf('artifacts', c.artifacts.length, c.artifactCount, c.mlmdId) }));
  root.append(grid, card('Properties', propertiesTable([...c.properties, ...c.customProperties])));
}

// ---------------------------------------------------------------- search

const SEARCH_KINDS = {
  artifacts: {
    label: 'Artifacts',
    query: `query S($f: String, $after: String) { result: artifacts(filter: $f, first: 25, after: $after, orderBy: {field: CREATE_TIME, direction: DESC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id mlmdId displayName typeName state uri createTime producer { run { mlmdId name } } } } }`,
    columns: [
      { label: 'Artifact', render: (a) => h('span', null, link(a.id, a.displayName), h('div', { class: 'muted small mono' }, `Artifact:${a.mlmdId}`)) },
      { label: 'Type', render: (a) => typeBadge(a.typeName) },
      { label: 'State', render: (a) => stateBadge(a.state) },
      { label: 'Run', render: (a) => (a.producer && a.producer.run ? h('a', { href: `#/runs/${a.producer.run.mlmdId}` }, a.producer.run.name) : '—') },
      { label: 'Created', render: (a) => h('span', { title: fmtTime(a.createTime) }, fmtRelative(a.createTime)) },
    ],
    examples: ["type = 'system.Model'", "type = 'system.Metrics' AND custom_properties.accuracy.double_value > 0.95", "state = LIVE AND uri LIKE 'file://%'", "contexts_r.type = 'system.PipelineRun' AND contexts_r.name LIKE '%forest%'"],
  },
  executions: {
    label: 'Executions',
    query: `query S($f: String, $after: String) { result: executions(filter: $f, first: 25, after: $after, orderBy: {field: CREATE_TIME, direction: DESC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id mlmdId displayName typeName state startTime durationSeconds run { mlmdId name } } } }`,
    columns: [
      { label: 'Execution', render: (x) => h('span', null, link(x.id, x.displayName), h('div', { class: 'muted small mono' }, `Execution:${x.mlmdId}`)) },
      { label: 'Type', render: (x) => typeBadge(x.typeName) },
      { label: 'State', render: (x) => stateBadge(x.state) },
      { label: 'Run', render: (x) => (x.run ? h('a', { href: `#/runs/${x.run.mlmdId}` }, x.run.name) : '—') },
      { label: 'Started', render: (x) => h('span', { title: fmtTime(x.startTime) }, fmtRelative(x.startTime)) },
      { label: 'Duration', cls: 'num', render: (x) => fmtDuration(x.durationSeconds) },
    ],
    examples: ['last_known_state = FAILED', "custom_properties.task_name.string_value = 'train'", 'last_known_state = CACHED', "events_e.type = OUTPUT"],
  },
  runs: {
    label: 'Runs',
    query: `query S($f: String, $after: String) { result: pipelineRuns(filter: $f, first: 25, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { ${RUN_FIELDS} } } }`,
    columns: [
      { label: 'Run', render: (r) => h('a', { href: `#/runs/${r.mlmdId}` }, r.displayName || r.name) },
      { label: 'Pipeline', render: (r) => (r.pipeline ? r.pipeline.name : '—') },
      { label: 'State', render: (r) => stateBadge(r.state) },
      { label: 'Steps', render: (r) => stepCountsBar(r.stepCounts, r.stepCount) },
      { label: 'Started', render: (r) => h('span', { title: fmtTime(r.startTime) }, fmtRelative(r.startTime)) },
    ],
    examples: ["name LIKE '%forest%'", "parent_contexts_p.name = 'breast-cancer-classifier'", 'create_time_since_epoch > 0'],
  },
  contexts: {
    label: 'Contexts',
    query: `query S($f: String, $after: String) { result: contexts(filter: $f, first: 25, after: $after, orderBy: {field: CREATE_TIME, direction: DESC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id mlmdId name typeName createTime artifactCount executionCount asPipelineRun { mlmdId } } } }`,
    columns: [
      { label: 'Context', render: (c) => h('a', { href: c.asPipelineRun ? `#/runs/${c.asPipelineRun.mlmdId}` : `#/contexts/${c.mlmdId}` }, c.name) },
      { label: 'Type', render: (c) => typeBadge(c.typeName) },
      { label: 'Executions', cls: 'num', render: (c) => fmtNumber(c.executionCount) },
      { label: 'Artifacts', cls: 'num', render: (c) => fmtNumber(c.artifactCount) },
      { label: 'Created', render: (c) => fmtRelative(c.createTime) },
    ],
    examples: ["type = 'system.Pipeline'", "type = 'system.PipelineRun' AND name LIKE '%logreg%'"],
  },
};

function likeText(text) {
  return text.replace(/['\\]/g, '');
}

// MLMD's filters require a property they name to exist, even under OR: "name LIKE x OR
// custom_properties.display_name.string_value LIKE x" never finds a node without a
// display_name (whatever the plain MLMD client or TFX wrote). So each field is asked on
// its own and the answers merged.
const QUICK_FIELDS = {
  artifacts: ['name LIKE $ OR uri LIKE $', 'custom_properties.display_name.string_value LIKE $'],
  executions: ['name LIKE $', 'custom_properties.display_name.string_value LIKE $', 'custom_properties.task_name.string_value LIKE $'],
};
const QUICK_NODES = {
  artifacts: 'id mlmdId displayName typeName state uri createTime producer { run { mlmdId name } }',
  executions: 'id mlmdId displayName typeName state startTime durationSeconds run { mlmdId name }',
};
const QUICK_LIMIT = 10;

function mergedMatches(answers) {
  const seen = new Map();
  for (const conn of answers) for (const node of conn.nodes) if (!seen.has(node.id)) seen.set(node.id, node);
  const nodes = [...seen.values()].sort((a, b) => (b.mlmdId - a.mlmdId)).slice(0, QUICK_LIMIT);
  const complete = answers.every((conn) => conn.totalCount <= conn.nodes.length);
  return { nodes, count: complete ? String(seen.size) : `${Math.max(...answers.map((c) => c.totalCount))}+` };
}

async function quickSearch(root, text, token) {
  const t = likeText(text.trim());
  const number = /^\d+$/.test(t);
  const name = `'%${t}%'`;
  const vars = { r: number ? `id = ${t}` : `name LIKE ${name}` };
  const parts = [`runs: pipelineRuns(filter: $r, first: ${QUICK_LIMIT}) { totalCount nodes { ${RUN_FIELDS} } }`];
  const fields = {};
  for (const kind of ['artifacts', 'executions']) {
    fields[kind] = number ? [`id = ${t}`] : QUICK_FIELDS[kind].map((f) => f.replaceAll('$', name));
    fields[kind].forEach((filter, i) => {
      vars[`${kind[0]}${i}`] = filter;
      parts.push(`${kind}${i}: ${kind}(filter: $${kind[0]}${i}, first: ${QUICK_LIMIT}, orderBy: {field: CREATE_TIME, direction: DESC}) { totalCount nodes { ${QUICK_NODES[kind]} } }`);
    });
  }
  const query = `query Q(${Object.keys(vars).map((v) => `$${v}: String`).join(', ')}) { ${parts.join(' ')} }`;
  const data = await gql(query, vars);
  if (token !== renderToken) return;
  const found = {
    runs: { nodes: data.runs.nodes, count: String(data.runs.totalCount), filter: vars.r },
  };
  for (const kind of ['artifacts', 'executions']) {
    const answers = fields[kind].map((_, i) => data[`${kind}${i}`]);
    found[kind] = { ...mergedMatches(answers), filter: fields[kind][0] };
  }
  const sections = [h('h2', { class: 'section-title' }, `Named like “${text}”`)];
  for (const kind of ['runs', 'artifacts', 'executions']) {
    const { nodes, count, filter } = found[kind];
    if (!nodes.length) continue;
    sections.push(card(`${SEARCH_KINDS[kind].label} (${count})`, table(SEARCH_KINDS[kind].columns, nodes),
      { actions: h('a', { href: hashFor('/search', { kind, q: filter }) }, 'Open as a filter →') }));
  }
  root.replaceChildren(...(sections.length > 1 ? sections : [emptyBox(`Nothing named like “${text}”.`, 'Try the filter language for anything else.')]));
}

async function searchPage(root, params, token) {
  setTitle('Search');
  const kind = SEARCH_KINDS[params.get('kind')] ? params.get('kind') : 'artifacts';
  const q = params.get('q') || '';
  const text = params.get('text') || '';
  const after = params.get('after') || null;
  const spec = SEARCH_KINDS[kind];
  root.append(pageHeader({ title: 'Search', meta: [h('span', { class: 'muted' }, 'MLMD’s filter language: the same queries as ', h('code', null, 'filter_query'), ' and the GraphQL ', h('code', null, 'filter'), ' argument')] }));
  const input = h('textarea', { class: 'filter-input mono', name: 'q', rows: 2, spellcheck: 'false', placeholder: spec.examples[0], 'aria-label': 'Filter' }, q);
  const kindSelect = h('select', { class: 'select', name: 'kind', 'aria-label': 'What to search' },
    Object.entries(SEARCH_KINDS).map(([k, s]) => h('option', { value: k, selected: k === kind }, s.label)));
  const submit = () => { location.hash = hashFor('/search', { kind: kindSelect.value, q: input.value.trim() }); };
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); submit(); } });
  kindSelect.addEventListener('change', submit);
  const form = h('form', { class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); submit(); } },
    kindSelect, input, h('button', { class: 'btn primary', type: 'submit' }, 'Search'));
  const examples = h('div', { class: 'examples' }, h('span', { class: 'muted' }, 'Examples: '),
    spec.examples.map((ex) => h('a', { class: 'chip mono', href: hashFor('/search', { kind, q: ex }) }, ex)));
  const help = h('details', { class: 'help' }, h('summary', null, 'Filter language'),
    h('ul', null,
      h('li', null, h('code', null, "type = 'system.Model'"), ', ', h('code', null, 'id = 12'), ', ', h('code', null, "name LIKE 'run-%'"), ', ', h('code', null, "uri LIKE 's3://%'"), ', ', h('code', null, 'state = LIVE'), ', ', h('code', null, 'last_known_state = COMPLETE')),
      h('li', null, h('code', null, 'properties.<name>.<int|double|string|bool>_value'), ' and ', h('code', null, 'custom_properties.…'), ', e.g. ', h('code', null, 'custom_properties.accuracy.double_value > 0.9')),
      h('li', null, h('code', null, 'contexts_<alias>.name'), ', ', h('code', null, 'parent_contexts_<alias>.…'), ', ', h('code', null, 'events_<alias>.type = INPUT')),
      h('li', null, h('code', null, 'AND'), ', ', h('code', null, 'OR'), ', ', h('code', null, 'NOT'), ', ', h('code', null, 'IN (…)'), ', ', h('code', null, 'IS NULL'), ', parentheses; create_time_since_epoch and last_update_time_since_epoch in ms.')));
  const results = h('div', { class: 'results' });
  root.append(card(null, [form, examples, help]), results);
  if (text) {
    results.append(loadingBox('Searching…'));
    try { await quickSearch(results, text, token); } catch (err) { results.replaceChildren(errorBox(err)); }
    return;
  }
  results.append(loadingBox('Searching…'));
  try {
    const data = await gql(spec.query, { f: q || null, after });
    if (token !== renderToken) return;
    const conn = data.result;
    if (!conn.nodes.length) {
      results.replaceChildren(emptyBox(q ? 'No matches.' : `No ${spec.label.toLowerCase()} yet.`, q ? 'Check the filter, or try one of the examples.' : null));
      return;
    }
    const pager = h('div', { class: 'table-foot' },
      h('span', { class: 'muted', id: 'result-count' }, `${conn.totalCount.toLocaleString()} match${conn.totalCount === 1 ? '' : 'es'}${after ? ' · later page' : ''}`),
      h('span', { class: 'button-row' },
        after ? h('a', { class: 'btn', href: hashFor('/search', { kind, q }) }, '← First page') : null,
        conn.pageInfo.hasNextPage ? h('a', { class: 'btn', href: hashFor('/search', { kind, q, after: conn.pageInfo.endCursor }) }, 'Next page →') : null));
    results.replaceChildren(card(null, [table(spec.columns, conn.nodes), pager]));
  } catch (err) {
    const box = errorBox(err);
    box.classList.add('filter-error');
    if (err.code === 'INVALID_ARGUMENT' && q) box.append(h('div', { class: 'muted small' }, 'The filter was not run. Fix it and search again.'));
    results.replaceChildren(box);
    input.classList.add('invalid');
  }
}

// ---------------------------------------------------------------- lineage explorer

function parseReveal(text) {
  const out = {};
  for (const part of (text || '').split(',')) {
    const i = part.lastIndexOf('*');
    if (i > 0) out[part.slice(0, i)] = Number(part.slice(i + 1)) || 0;
  }
  return out;
}

async function lineagePage(root, params, token) {
  setTitle('Lineage');
  const node = params.get('node');
  if (!node) {
    root.append(pageHeader({ title: 'Lineage explorer', meta: [h('span', { class: 'muted' }, 'Start at any artifact or execution; expand up- and downstream by clicking.')] }));
    const input = h('input', { class: 'input mono', name: 'node', placeholder: 'Artifact:12 or Execution:5', 'aria-label': 'Start node' });
    const form = h('form', { class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); if (input.value.trim()) location.hash = hashFor('/lineage', { node: input.value.trim() }); } },
      input, h('button', { class: 'btn primary', type: 'submit' }, 'Explore'));
    const recent = h('div', null, loadingBox('Loading recent models…'));
    root.append(card('Start from', [form, h('h3', { class: 'subhead' }, 'Recent models and datasets'), recent]));
    try {
      const data = await gql(`query { artifacts(first: 12, types: ["system.Model", "system.Dataset"], orderBy: {field: CREATE_TIME, direction: DESC}) { nodes { id mlmdId displayName typeName createTime producer { run { name } } } } }`);
      if (token !== renderToken) return;
      recent.replaceChildren(table([
        { label: 'Artifact', render: (a) => h('a', { href: hashFor('/lineage', { node: `Artifact:${a.mlmdId}` }) }, a.displayName) },
        { label: 'Type', render: (a) => typeBadge(a.typeName) },
        { label: 'Run', render: (a) => (a.producer && a.producer.run ? a.producer.run.name : '—') },
        { label: 'Created', render: (a) => fmtRelative(a.createTime) },
      ], data.artifacts.nodes, { empty: 'No artifacts yet.' }));
    } catch (err) {
      recent.replaceChildren(errorBox(err));
    }
    return;
  }
  const parsed = parseGlobalId(node);
  const title = h('span', null, readable(canonical(node)));
  root.append(pageHeader({
    kicker: h('a', { href: '#/lineage' }, 'Lineage explorer'),
    title,
    actions: [h('a', { class: 'btn', href: pageOf(canonical(node)) }, 'Open page')],
  }));
  const box = h('div', { class: 'explorer-page' });
  root.append(box);
  if (!parsed || (parsed.kind !== 'Artifact' && parsed.kind !== 'Execution')) {
    box.append(errorBox({ code: 'INVALID_ARGUMENT', message: `“${node}” is not an artifact or execution id (write Artifact:12 or Execution:5).` }));
    return;
  }
  const explorer = new LineageExplorer(box, {
    start: node,
    depth: Number(params.get('depth')) || 1,
    direction: ['UPSTREAM', 'DOWNSTREAM'].includes(params.get('dir')) ? params.get('dir') : 'BOTH',
    open: (params.get('open') || '').split(',').filter(Boolean),
    reveal: parseReveal(params.get('rev')),
    selected: params.get('sel'),
    onState: (s) => {
      replaceHash('/lineage', {
        node: s.node, depth: s.depth === 1 ? null : s.depth, dir: s.dir === 'BOTH' ? null : s.dir,
        open: s.open.length ? s.open : null,
        rev: Object.keys(s.reveal).length ? Object.entries(s.reveal).map(([k, v]) => `${k}*${v}`) : null,
        sel: s.sel,
      });
    },
  });
  try {
    await explorer.init();
    const start = explorer.nodes.get(explorer.start);
    if (start) {
      title.replaceChildren(start.name, ' ', h('span', { class: 'muted light' }, readable(explorer.start)));
      setTitle(`Lineage of ${start.name}`);
    }
  } catch (err) { /* the explorer shows it */ }
}

// ---------------------------------------------------------------- compare runs

const COMPARE_QUERY = `
query Compare($ids: [ID!]!) {
  compareRuns(runIds: $ids) {
    runs { id mlmdId name displayName state startTime durationSeconds pipeline { name } }
    parameters { name values differs }
    metrics { name values differs }
  }
}`;

async function runPicker(selected, token) {
  const data = await gql(`query { pipelineRuns(first: 50) { nodes { ${RUN_FIELDS} } } }`);
  if (token !== renderToken) return null;
  const chosen = new Set(selected);
  const go = h('a', { class: 'btn primary', id: 'compare-go' }, 'Compare');
  const update = () => {
    go.href = hashFor('/compare', { runs: [...chosen] });
    go.classList.toggle('disabled', chosen.size < 2);
    go.textContent = chosen.size >= 2 ? `Compare ${chosen.size} runs` : 'Pick at least two runs';
  };
  update();
  const rows = data.pipelineRuns.nodes.map((r) => {
    const check = h('input', { type: 'checkbox', class: 'run-check', value: r.mlmdId, checked: chosen.has(String(r.mlmdId)) });
    check.addEventListener('change', () => { if (check.checked) chosen.add(String(r.mlmdId)); else chosen.delete(String(r.mlmdId)); update(); });
    return { r, check };
  });
  return h('div', null, table([
    { label: '', cls: 'narrow', render: (x) => x.check },
    { label: 'Run', render: (x) => h('a', { href: `#/runs/${x.r.mlmdId}` }, x.r.displayName || x.r.name) },
    { label: 'State', render: (x) => stateBadge(x.r.state) },
    { label: 'Started', render: (x) => fmtRelative(x.r.startTime) },
    { label: 'Metrics', render: (x) => x.r.metrics.slice(0, 3).map((m) => `${m.name} ${fmtNumber(m.value)}`).join(' · ') },
  ], rows, { empty: 'No runs to compare.' }), h('div', { class: 'table-foot' }, h('span'), go));
}

/** The metrics bar chart in a half-width card: runs told apart by colour (legend below),
 * values on hover and in the table above, so no crowded tick labels or bar texts. */
function compactBars(figure) {
  const layout = { ...figure.layout, legend: { orientation: 'h', x: 0, y: -0.06, yanchor: 'top' } };
  for (const key of Object.keys(layout)) {
    if (/^xaxis\d*$/.test(key)) layout[key] = { ...layout[key], showticklabels: false };
  }
  layout.margin = { ...(layout.margin || {}), b: 70 };
  const data = figure.data.map((t) => (t.type === 'bar' ? { ...t, textposition: 'none' } : t));
  return { data, layout };
}

/** Names without the prefix they all share (cut at a separator), for narrow columns. */
export function shortLabels(names) {
  if (names.length < 2) return names;
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = Math.max(prefix.lastIndexOf('-'), prefix.lastIndexOf('_'), prefix.lastIndexOf('/'), prefix.lastIndexOf('.'));
  if (cut < 0) return names;
  const out = names.map((n) => n.slice(cut + 1));
  return out.some((n) => !n) ? names : out;
}

async function comparePage(root, params, token) {
  setTitle('Compare runs');
  const ids = [...new Set((params.get('runs') || '').split(',').map((s) => s.trim()).filter(Boolean))];
  const onlyDiff = params.get('diff') === '1';
  root.append(pageHeader({ title: 'Compare runs', meta: [h('span', { class: 'muted' }, 'Metrics and parameters side by side, ROC curves overlaid')] }));
  if (ids.length < 2) {
    const box = h('div', null, loadingBox('Loading runs…'));
    root.append(card(ids.length ? 'Pick at least one more run' : 'Pick runs to compare', box));
    try { const picker = await runPicker(ids, token); if (picker) box.replaceChildren(picker); } catch (err) { box.replaceChildren(errorBox(err)); }
    return;
  }
  const body = h('div', null, loadingBox('Comparing…'));
  root.append(body);
  let data;
  try {
    data = await gql(COMPARE_QUERY, { ids });
  } catch (err) {
    body.replaceChildren(errorBox(err));
    return;
  }
  if (token !== renderToken) return;
  const cmp = data.compareRuns;
  const runs = cmp.runs;
  clear(body);
  const diffToggle = h('label', { class: 'toggle' }, h('input', { type: 'checkbox', checked: onlyDiff, onchange: (ev) => { location.hash = hashFor('/compare', { runs: ids, diff: ev.target.checked ? 1 : null }); } }), ' Only differences');
  const labels = shortLabels(runs.map((r) => r.displayName || r.name));
  const header = h('tr', null, h('th', null, ''), runs.map((r, i) => h('th', { class: 'num run-head' },
    h('a', { href: `#/runs/${r.mlmdId}`, title: r.displayName || r.name }, labels[i]), h('div', null, stateBadge(r.state)))));
  const bestOf = (row) => {
    const nums = row.values.filter((v) => typeof v === 'number');
    if (nums.length < 2 || !row.differs) return null;
    return /loss|error|mse|mae|rmse/i.test(row.name) ? Math.min(...nums) : Math.max(...nums);
  };
  const section = (label, rows, isMetric) => {
    const shown = rows.filter((r) => !onlyDiff || r.differs);
    if (!shown.length) return [h('tr', { class: 'group-row' }, h('th', { colspan: runs.length + 1 }, label)), h('tr', null, h('td', { colspan: runs.length + 1, class: 'muted' }, rows.length ? 'All the same.' : 'None.'))];
    return [h('tr', { class: 'group-row' }, h('th', { colspan: runs.length + 1 }, label)),
      shown.map((row) => {
        const best = isMetric ? bestOf(row) : null;
        return h('tr', { class: row.differs ? 'differs' : '' }, h('td', null, h('code', null, row.name)),
          row.values.map((v) => h('td', { class: `num${best !== null && v === best ? ' best' : ''}` }, v === null || v === undefined ? h('span', { class: 'muted' }, '—') : fmtValue(v))));
      })];
  };
  body.append(card('Side by side', h('div', { class: 'table-wrap' }, h('table', { class: 'table compare' },
    h('thead', null, header),
    h('tbody', null, section('Metrics', cmp.metrics, true), section('Parameters', cmp.parameters, false)))),
  { actions: diffToggle }));
  const figs = h('div', { class: 'grid-2' });
  body.append(figs);
  for (const [kind, title] of [['ROC', 'ROC curves'], ['METRICS', 'Metrics']]) {
    const holder = card(title, loadingBox(), { cls: 'figure-card', id: `compare-${kind.toLowerCase()}` });
    figs.append(holder);
    gql('query($ids: [ID!]!, $k: CompareFigureKind!) { compareFigure(runIds: $ids, kind: $k) { kind title figure } }', { ids, k: kind })
      .then((d) => {
        if (token !== renderToken) return;
        const el = h('div', { class: 'figure', dataset: { kind: `COMPARE_${kind}` } });
        holder.querySelector('.card-body').replaceChildren(el);
        const figure = kind === 'METRICS' ? compactBars(d.compareFigure.figure) : d.compareFigure.figure;
        return plot(el, figure, { height: 400 });
      })
      .catch((err) => holder.querySelector('.card-body').replaceChildren(err.code === 'INVALID_ARGUMENT' ? emptyBox(err.message) : errorBox(err)));
  }
  const pickBox = h('div', null);
  const details = h('details', { class: 'card picker' }, h('summary', null, 'Change runs'), pickBox);
  details.addEventListener('toggle', async () => {
    if (details.open && !pickBox.children.length) {
      pickBox.append(loadingBox());
      try { const picker = await runPicker(ids, token); if (picker) pickBox.replaceChildren(picker); } catch (err) { pickBox.replaceChildren(errorBox(err)); }
    }
  }, { once: false });
  body.append(details);
}

// ---------------------------------------------------------------- router

const ROUTES = [
  [/^\/?$/, 'home', (root, m, p, t) => homePage(root, p, t)],
  [/^\/runs\/(\d+)$/, 'home', (root, m, p, t) => runPage(root, m[1], p, t)],
  [/^\/artifacts\/(\d+)$/, 'search', (root, m, p, t) => artifactPage(root, m[1], p, t)],
  [/^\/executions\/(\d+)$/, 'search', (root, m, p, t) => executionPage(root, m[1], p, t)],
  [/^\/contexts\/(\d+)$/, 'search', (root, m, p, t) => contextPage(root, m[1], p, t)],
  [/^\/search$/, 'search', (root, m, p, t) => searchPage(root, p, t)],
  [/^\/lineage$/, 'lineage', (root, m, p, t) => lineagePage(root, p, t)],
  [/^\/compare$/, 'compare', (root, m, p, t) => comparePage(root, p, t)],
];

async function route() {
  endLive();
  renderToken += 1;
  const token = renderToken;
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  const root = h('div', { class: 'page' });
  app.replaceChildren(root);
  window.scrollTo(0, 0);
  for (const [pattern, nav, render] of ROUTES) {
    const m = pattern.exec(path);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav);
    try {
      await render(root, m, params, token);
    } catch (err) {
      if (token !== renderToken) return;
      root.replaceChildren(errorBox(err, () => route()));
    }
    if (token === renderToken) app.dataset.ready = path;
    return;
  }
  root.append(emptyBox('There is no such page.', h('a', { href: '#/' }, 'Go to the runs')));
  app.dataset.ready = path;
}

document.getElementById('quick-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ev.target.q.value.trim();
  if (!text) return;
  const m = /^(artifact|execution|pipelinerun|run|context):(\d+)$/i.exec(text);
  if (m) {
    const kind = { artifact: 'artifacts', execution: 'executions', pipelinerun: 'runs', run: 'runs', context: 'contexts' }[m[1].toLowerCase()];
    location.hash = `#/${kind}/${m[2]}`;
    return;
  }
  location.hash = hashFor('/search', { text });
});

window.addEventListener('hashchange', () => { delete app.dataset.ready; route(); });
route();
