// Lineage graphs in SVG: a layered layout (data flows left to right), pan and zoom, and
// the explorer, which loads a lineage a hop at a time and groups large sets of siblings so
// a 2,000-node lineage opens small and grows as people click.

import { gql } from './gql.js';
import { esc, fmtDuration, fmtTime, h, clear, pageOf, parseGlobalId, stateBadge, typeBadge } from './util.js';

export const NODE_W = 188;
export const NODE_H = 46;
const GAP_X = 86;
const GAP_Y = 16;
const GROUP_AT = 8; // more unplaced neighbours than this on one side: group them by type
const GROUP_SMALL = 2; // a type with at most this many of them stays ungrouped
export const REVEAL_STEP = 25;
const MAX_NODES = 1500;
const SWEEPS = 4;

const INPUT_EVENTS = new Set(['INPUT', 'DECLARED_INPUT', 'INTERNAL_INPUT']);

/** The global id of an MLMD node ("Artifact", 12) -> base64url of "Artifact:12", unpadded. */
export function globalId(kind, mlmdId) {
  return btoa(`${kind}:${mlmdId}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function readable(id) {
  const p = parseGlobalId(id);
  return p ? `${p.kind}:${p.mlmdId}` : String(id);
}

export function canonical(id) {
  const p = parseGlobalId(id);
  return p ? globalId(p.kind, p.mlmdId) : String(id);
}

function truncate(text, n) {
  const s = String(text ?? '');
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function shortType(t) {
  return String(t || '').replace(/^system\./, '');
}

// ---------------------------------------------------------------- layout

// Edges "source|target" that close a cycle: those to a node still on the path of a
// depth-first search (in id order, without recursion).
function closingEdges(ids, succ) {
  const state = new Map(); // 1: on the path, 2: done
  const back = new Set();
  for (const root of ids) {
    if (state.has(root)) continue;
    state.set(root, 1);
    const path = [[root, 0]];
    while (path.length) {
      const top = path[path.length - 1];
      const next = succ.get(top[0]);
      if (top[1] < next.length) {
        const t = next[top[1]];
        top[1] += 1;
        if (state.get(t) === 1) back.add(`${top[0]}|${t}`);
        else if (!state.has(t)) { state.set(t, 1); path.push([t, 0]); }
      } else {
        state.set(top[0], 2);
        path.pop();
      }
    }
  }
  return back;
}

/**
 * Layers by longest path over the edges (sources pulled right to just before their first
 * successor), then a few barycenter sweeps to keep edges short. ids: node ids in their
 * preferred order; edges: [{source, target}]. Returns Map id -> {x, y, layer}.
 */
export function layoutGraph(ids, edges) {
  const succ = new Map();
  const pred = new Map();
  for (const id of ids) { succ.set(id, []); pred.set(id, []); }
  const known = edges.filter((e) => e.source !== e.target && succ.has(e.source) && pred.has(e.target));
  for (const e of known) succ.get(e.source).push(e.target);
  // MLMD accepts cycles (an execution writing what an earlier one read, in a loop):
  // layers come from the graph without the edges that close one.
  const back = closingEdges(ids, succ);
  for (const id of ids) succ.set(id, []);
  for (const e of known) {
    if (back.has(`${e.source}|${e.target}`)) continue;
    succ.get(e.source).push(e.target);
    pred.get(e.target).push(e.source);
  }
  const indegree = new Map(ids.map((id) => [id, pred.get(id).length]));
  const layer = new Map();
  const queue = ids.filter((id) => indegree.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  for (let i = 0; i < queue.length; i += 1) {
    const id = queue[i];
    for (const t of succ.get(id)) {
      layer.set(t, Math.max(layer.get(t) ?? 0, layer.get(id) + 1));
      indegree.set(t, indegree.get(t) - 1);
      if (indegree.get(t) === 0) queue.push(t);
    }
  }
  for (const id of ids) if (!layer.has(id)) layer.set(id, 0);
  for (const id of ids) {
    const next = succ.get(id);
    if (pred.get(id).length === 0 && next.length) {
      let lowest = Infinity;
      for (const t of next) lowest = Math.min(lowest, layer.get(t));
      layer.set(id, Math.max(0, lowest - 1));
    }
  }
  let lowest = Infinity;
  for (const v of layer.values()) lowest = Math.min(lowest, v);
  const layers = [];
  for (const id of ids) {
    const l = layer.get(id) - (Number.isFinite(lowest) ? lowest : 0);
    layer.set(id, l);
    (layers[l] ||= []).push(id);
  }
  const filled = layers.filter(Boolean);
  const index = new Map();
  filled.forEach((ls) => ls.forEach((id, i) => index.set(id, i)));
  const sweep = (ls, neighbours) => {
    const key = new Map();
    for (const id of ls) {
      const ns = neighbours.get(id).filter((n) => index.has(n));
      key.set(id, ns.length ? ns.reduce((a, n) => a + index.get(n), 0) / ns.length : index.get(id));
    }
    ls.sort((a, b) => key.get(a) - key.get(b) || index.get(a) - index.get(b));
    ls.forEach((id, i) => index.set(id, i));
  };
  for (let s = 0; s < SWEEPS; s += 1) {
    if (s % 2 === 0) for (let l = 1; l < filled.length; l += 1) sweep(filled[l], pred);
    else for (let l = filled.length - 2; l >= 0; l -= 1) sweep(filled[l], succ);
  }
  const positions = new Map();
  filled.forEach((ls, l) => {
    const middle = (ls.length - 1) / 2;
    ls.forEach((id, i) => positions.set(id, { x: l * (NODE_W + GAP_X), y: (i - middle) * (NODE_H + GAP_Y), layer: l }));
  });
  return positions;
}

// ---------------------------------------------------------------- the SVG view

/** Draws nodes and edges, pans and zooms; reports clicks through the callbacks. */
export class GraphView {
  constructor(container, { onSelect, onOpen, onExpand, onGroup, height } = {}) {
    this.callbacks = { onSelect, onOpen, onExpand, onGroup };
    this.positions = new Map();
    this.view = { x: 0, y: 0, k: 1 };
    this.root = h('div', { class: 'graph-view', style: height ? `height:${height}px` : null });
    this.root.innerHTML = `
      <svg class="graph-svg" role="img" aria-label="lineage graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head"></path>
          </marker>
        </defs>
        <g class="viewport"></g>
      </svg>
      <div class="graph-zoom">
        <button type="button" class="btn icon" data-zoom="in" title="Zoom in" aria-label="Zoom in">+</button>
        <button type="button" class="btn icon" data-zoom="out" title="Zoom out" aria-label="Zoom out">−</button>
        <button type="button" class="btn icon" data-zoom="fit" title="Fit to view" aria-label="Fit to view">⤢</button>
      </div>`;
    container.appendChild(this.root);
    this.svg = this.root.querySelector('svg');
    this.viewport = this.root.querySelector('.viewport');
    this._wire();
  }

  _wire() {
    let drag = null;
    let moved = false;
    this.svg.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y };
      moved = false;
    });
    window.addEventListener('pointermove', (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      moved = true;
      this.svg.classList.add('panning');
      this.view.x = drag.vx + dx;
      this.view.y = drag.vy + dy;
      this._apply();
    });
    window.addEventListener('pointerup', () => {
      drag = null;
      this.svg.classList.remove('panning');
    });
    this.svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      this.zoomAt(ev.clientX - rect.left, ev.clientY - rect.top, Math.exp(-ev.deltaY * 0.0015));
    }, { passive: false });
    this.svg.addEventListener('click', (ev) => {
      if (moved) { moved = false; return; }
      const handle = ev.target.closest('.handle');
      const node = ev.target.closest('.gnode');
      if (handle && node && this.callbacks.onExpand) {
        this.callbacks.onExpand(node.dataset.id, handle.dataset.dir, handle.dataset.action);
      } else if (node && node.classList.contains('group') && this.callbacks.onGroup) {
        this.callbacks.onGroup(node.dataset.id);
      } else if (node && this.callbacks.onSelect) {
        this.callbacks.onSelect(node.dataset.id);
      } else if (!node && this.callbacks.onSelect) {
        this.callbacks.onSelect(null);
      }
    });
    this.svg.addEventListener('dblclick', (ev) => {
      const node = ev.target.closest('.gnode');
      if (node && !node.classList.contains('group') && this.callbacks.onOpen) this.callbacks.onOpen(node.dataset.id);
    });
    this.root.querySelector('.graph-zoom').addEventListener('click', (ev) => {
      const button = ev.target.closest('button');
      if (!button) return;
      const rect = this.svg.getBoundingClientRect();
      if (button.dataset.zoom === 'fit') this.fit();
      else this.zoomAt(rect.width / 2, rect.height / 2, button.dataset.zoom === 'in' ? 1.25 : 0.8);
    });
  }

  zoomAt(px, py, factor) {
    const k = Math.min(2.5, Math.max(0.05, this.view.k * factor));
    const f = k / this.view.k;
    this.view.x = px - (px - this.view.x) * f;
    this.view.y = py - (py - this.view.y) * f;
    this.view.k = k;
    this._apply();
  }

  _apply() {
    const { x, y, k } = this.view;
    this.viewport.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
    this.root.classList.toggle('zoomed-out', k < 0.45);
  }

  fit() {
    if (!this.positions.size) return;
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const p of this.positions.values()) {
      x0 = Math.min(x0, p.x - NODE_W / 2); x1 = Math.max(x1, p.x + NODE_W / 2);
      y0 = Math.min(y0, p.y - NODE_H / 2); y1 = Math.max(y1, p.y + NODE_H / 2);
    }
    const rect = this.svg.getBoundingClientRect();
    const width = rect.width || 800;
    const height = rect.height || 400;
    const pad = 36;
    const k = Math.max(0.12, Math.min(1, (width - 2 * pad) / (x1 - x0), (height - 2 * pad) / (y1 - y0)));
    this.view = { k, x: width / 2 - ((x0 + x1) / 2) * k, y: height / 2 - ((y0 + y1) / 2) * k };
    this._apply();
  }

  /** Pan (and zoom out if needed) the least so that these nodes are all on screen. */
  showNodes(ids) {
    const points = ids.map((id) => this.positions.get(id)).filter(Boolean);
    if (!points.length) return;
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const p of points) {
      x0 = Math.min(x0, p.x - NODE_W / 2 - 16); x1 = Math.max(x1, p.x + NODE_W / 2 + 16);
      y0 = Math.min(y0, p.y - NODE_H / 2 - 8); y1 = Math.max(y1, p.y + NODE_H / 2 + 8);
    }
    const rect = this.svg.getBoundingClientRect();
    const width = rect.width || 800;
    const height = rect.height || 400;
    const pad = 24;
    const fits = Math.min((width - 2 * pad) / (x1 - x0), (height - 2 * pad) / (y1 - y0));
    if (fits < this.view.k) {
      const k = Math.max(0.12, fits);
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      this.view = { k, x: width / 2 - cx * k, y: height / 2 - cy * k };
    } else {
      const k = this.view.k;
      const sx0 = this.view.x + x0 * k; const sx1 = this.view.x + x1 * k;
      const sy0 = this.view.y + y0 * k; const sy1 = this.view.y + y1 * k;
      if (sx0 < pad) this.view.x += pad - sx0; else if (sx1 > width - pad) this.view.x -= sx1 - (width - pad);
      if (sy0 < pad) this.view.y += pad - sy0; else if (sy1 > height - pad) this.view.y -= sy1 - (height - pad);
    }
    this._apply();
  }

  /** Screen position of a node (to keep it in place across a re-layout). */
  screenOf(id) {
    const p = this.positions.get(id);
    return p ? { x: this.view.x + p.x * this.view.k, y: this.view.y + p.y * this.view.k } : null;
  }

  /**
   * nodes: [{id, kind: 'artifact'|'execution'|'group', name, type, state, handles: [{dir, action, label, title}],
   *          classes}]; edges: [{source, target, type}]. anchor: keep this node where it was.
   */
  render(nodes, edges, { anchor = null, fit = false, selected = null, start = null, focus = null } = {}) {
    const before = anchor ? this.screenOf(anchor) : null;
    this.positions = layoutGraph(nodes.map((n) => n.id), edges);
    const parts = [];
    for (const e of edges) {
      const s = this.positions.get(e.source);
      const t = this.positions.get(e.target);
      if (!s || !t) continue;
      const sx = s.x + NODE_W / 2;
      const tx = t.x - NODE_W / 2 - 2;
      const dx = Math.max(24, (tx - sx) / 2);
      const cls = INPUT_EVENTS.has(e.type) ? 'input' : e.type === 'group' ? 'grouped' : 'output';
      parts.push(`<path class="gedge ${cls}" d="M${sx},${s.y} C${sx + dx},${s.y} ${tx - dx},${t.y} ${tx},${t.y}" marker-end="url(#arrow)"></path>`);
    }
    for (const n of nodes) {
      const p = this.positions.get(n.id);
      const classes = ['gnode', n.kind, n.state ? `state-${n.state}` : '', n.id === selected ? 'selected' : '', n.id === start ? 'start' : '', n.classes || ''].join(' ');
      const title = n.kind === 'group'
        ? `${n.count} ${n.type}`
        : `${n.name}\n${n.type}${n.state ? ` · ${n.state}` : ''}\n${readable(n.id)}`;
      const w2 = NODE_W / 2;
      const h2 = NODE_H / 2;
      const sub = n.kind === 'group' ? (n.sub || '') : `${shortType(n.type)}${n.state ? ` · ${n.state.toLowerCase()}` : ''}`;
      let handles = '';
      for (const hd of n.handles || []) {
        const cx = hd.dir === 'up' ? -w2 - 13 : w2 + 13; // a port just outside the box
        handles += `<g class="handle ${hd.dir} ${hd.action}" data-dir="${hd.dir}" data-action="${hd.action}" role="button" aria-label="${esc(hd.title)}">`
          + `<title>${esc(hd.title)}</title><rect x="${cx - (hd.label.length > 1 ? 15 : 10)}" y="-10" width="${hd.label.length > 1 ? 30 : 20}" height="20" rx="10"></rect>`
          + `<text x="${cx}" y="4" text-anchor="middle">${esc(hd.label)}</text></g>`;
      }
      parts.push(
        `<g class="${classes}" data-id="${esc(n.id)}" transform="translate(${p.x},${p.y})"><title>${esc(title)}</title>`
        + `<rect class="box" x="${-w2}" y="${-h2}" width="${NODE_W}" height="${NODE_H}" rx="${n.kind === 'execution' ? 4 : 10}"></rect>`
        + `<rect class="stripe" x="${-w2}" y="${-h2}" width="6" height="${NODE_H}" rx="2"></rect>`
        + `<text class="label" x="${-w2 + 16}" y="-3">${esc(truncate(n.name, 23))}</text>`
        + `<text class="sub" x="${-w2 + 16}" y="13">${esc(truncate(sub, 30))}</text>`
        + `<circle class="dot" cx="${w2 - 12}" cy="${-h2 + 10}" r="4"></circle>`
        + `${handles}</g>`,
      );
    }
    this.viewport.innerHTML = parts.join('');
    if (fit || !before) {
      this.fit();
    } else {
      const p = this.positions.get(anchor);
      if (p) {
        this.view.x = before.x - p.x * this.view.k;
        this.view.y = before.y - p.y * this.view.k;
      }
      this._apply();
      if (focus && focus.length) this.showNodes([anchor, ...focus]);
    }
  }
}

// ---------------------------------------------------------------- the explorer

// Kept lean: the estimated cost of a lineage query grows with maxNodes times its fields.
// The side panel asks for the rest of a node when it is selected.
const LINEAGE_QUERY = `
query Lineage($from: LineageStart!, $direction: LineageDirection!, $depth: Int!, $max: Int!) {
  lineage(from: $from, direction: $direction, depth: $depth, maxNodes: $max) {
    truncated
    nodes {
      id hops
      artifact { mlmdId displayName typeName state events { type } }
      execution { mlmdId displayName typeName state events { type } }
    }
    edges { source target type }
  }
}`;

const DETAILS_QUERY = `
query Details($id: ID!) {
  node(id: $id) {
    ... on Artifact { uri createTime producer { run { mlmdId name } } }
    ... on Execution { startTime durationSeconds run { mlmdId name } }
  }
}`;

function toNode(n) {
  const a = n.artifact;
  const x = n.execution;
  const item = a || x;
  let inputs = 0;
  let outputs = 0;
  for (const e of item.events) {
    if (INPUT_EVENTS.has(e.type)) inputs += 1;
    else outputs += 1;
  }
  return {
    id: n.id,
    kind: a ? 'artifact' : 'execution',
    mlmdId: item.mlmdId,
    name: item.displayName,
    type: item.typeName,
    state: item.state,
    // events tell how many neighbours each side has, loaded or not
    total: a ? { up: outputs, down: inputs } : { up: inputs, down: outputs },
  };
}

export class LineageExplorer {
  /**
   * container: where to draw. options: start (a node id), depth, direction (BOTH |
   * UPSTREAM | DOWNSTREAM), open (["Execution:5~down", ...] expansions to replay),
   * reveal ({groupKey: count}), selected, compact (no side panel), onState(state) when
   * anything a link should keep changes.
   */
  constructor(container, options) {
    this.options = { depth: 1, direction: 'BOTH', open: [], reveal: {}, compact: false, ...options };
    this.start = canonical(this.options.start);
    this.depth = Number(this.options.depth) || 1;
    this.direction = this.options.direction || 'BOTH';
    this.selected = this.options.selected ? canonical(this.options.selected) : this.start;
    this.nodes = new Map();
    this.edges = new Map();
    this.ins = new Map();
    this.outs = new Map();
    this.loaded = new Map();
    this.open = [];
    this.reveal = new Map(Object.entries(this.options.reveal || {}).map(([k, v]) => [k, Number(v)]));
    this.collapsed = new Set();
    this.truncated = false;
    this.busy = 0;
    this._build(container);
  }

  _build(container) {
    const compact = this.options.compact;
    this.root = h('div', { class: `explorer${compact ? ' compact' : ''}` });
    this.toolbar = h('div', { class: 'explorer-toolbar' });
    const depthSelect = h('select', { class: 'select', 'aria-label': 'Depth', name: 'depth' },
      [1, 2, 3, 4, 5, 6, 8, 10].map((d) => h('option', { value: d, selected: d === this.depth }, `${d} hop${d > 1 ? 's' : ''}`)));
    depthSelect.addEventListener('change', () => this.reload({ depth: Number(depthSelect.value) }));
    const dirSelect = h('select', { class: 'select', 'aria-label': 'Direction', name: 'direction' },
      [['BOTH', 'Up- and downstream'], ['UPSTREAM', 'Upstream'], ['DOWNSTREAM', 'Downstream']].map(([v, label]) => h('option', { value: v, selected: v === this.direction }, label)));
    dirSelect.addEventListener('change', () => this.reload({ direction: dirSelect.value }));
    this.status = h('span', { class: 'explorer-status muted' });
    this.toolbar.append(
      h('label', { class: 'field-inline' }, 'Depth ', depthSelect),
      h('label', { class: 'field-inline' }, 'Direction ', dirSelect),
      this.status,
      h('span', { class: 'legend' },
        h('span', { class: 'legend-item artifact' }, 'artifact'),
        h('span', { class: 'legend-item execution' }, 'execution'),
        h('span', { class: 'legend-item group' }, 'group')),
    );
    this.body = h('div', { class: 'explorer-body' });
    this.canvas = h('div', { class: 'explorer-canvas' });
    this.panel = h('aside', { class: 'explorer-panel' });
    this.notice = h('div', { class: 'explorer-notice', hidden: true });
    this.body.append(this.canvas, this.panel);
    this.root.append(this.toolbar, this.notice, this.body);
    container.appendChild(this.root);
    this.view = new GraphView(this.canvas, {
      height: compact ? 340 : null,
      onSelect: (id) => this.select(id),
      onOpen: (id) => { location.hash = pageOf(id); },
      onExpand: (id, dir, action) => this.expand(id, dir, action),
      onGroup: (id) => this.revealGroup(id, REVEAL_STEP),
    });
  }

  _setBusy(on, text) {
    this.busy += on ? 1 : -1;
    this.root.classList.toggle('busy', this.busy > 0);
    if (text) this.status.textContent = text;
  }

  async init() {
    this._setBusy(true, 'Loading lineage…');
    try {
      await this._fetch(this.start, this.direction, this.depth);
      this._checkStart();
      for (const item of this.options.open || []) {
        const [id, dir] = String(item).split('~');
        if (!id || (dir !== 'up' && dir !== 'down')) continue;
        const cid = canonical(id);
        if (!this.nodes.has(cid)) continue;
        await this._fetch(cid, dir === 'up' ? 'UPSTREAM' : 'DOWNSTREAM', 1);
        this.open.push(`${cid}~${dir}`);
      }
      if (!this.nodes.has(this.selected)) this.selected = this.start;
      this.draw({ fit: true });
    } catch (err) {
      this.status.textContent = '';
      this.canvas.replaceChildren(h('div', { class: 'state-box error', role: 'alert' },
        h('div', { class: 'error-title' }, err.code ? h('code', { class: 'error-code' }, err.code) : null, ' ', err.message)));
      this.panel.hidden = true;
      throw err;
    } finally {
      this._setBusy(false);
    }
  }

  _checkStart() {
    if (!this.nodes.has(this.start)) {
      throw Object.assign(new Error(`There is no ${readable(this.start)} in the store.`), { code: 'NOT_FOUND' });
    }
  }

  async _fetch(id, direction, depth) {
    const parsed = parseGlobalId(id);
    if (!parsed || (parsed.kind !== 'Artifact' && parsed.kind !== 'Execution')) {
      throw Object.assign(new Error(`${id} is not an artifact or execution id`), { code: 'INVALID_ARGUMENT' });
    }
    const from = parsed.kind === 'Artifact' ? { artifactId: readable(id) } : { executionId: readable(id) };
    const data = await gql(LINEAGE_QUERY, { from, direction, depth, max: MAX_NODES });
    const graph = data.lineage;
    if (graph.truncated) this.truncated = true;
    for (const n of graph.nodes) {
      const node = toNode(n);
      this.nodes.set(node.id, node);
      if (!this.ins.has(node.id)) { this.ins.set(node.id, new Set()); this.outs.set(node.id, new Set()); }
      const loaded = this.loaded.get(node.id) || { up: false, down: false };
      if (n.hops < depth && !graph.truncated) {
        if (direction !== 'DOWNSTREAM') loaded.up = true;
        if (direction !== 'UPSTREAM') loaded.down = true;
      }
      this.loaded.set(node.id, loaded);
    }
    if (!graph.truncated) {
      const loaded = this.loaded.get(canonical(id));
      if (loaded && depth > 0) {
        if (direction !== 'DOWNSTREAM') loaded.up = true;
        if (direction !== 'UPSTREAM') loaded.down = true;
      }
    }
    for (const e of graph.edges) {
      const key = `${e.source}|${e.target}`;
      if (this.edges.has(key)) continue;
      this.edges.set(key, e);
      this.outs.get(e.source)?.add(e.target);
      this.ins.get(e.target)?.add(e.source);
    }
  }

  state() {
    const reveal = {};
    for (const [k, v] of this.reveal) reveal[k] = v;
    return {
      node: readable(this.start),
      depth: this.depth,
      dir: this.direction,
      open: this.open.map((o) => { const [id, dir] = o.split('~'); return `${readable(id)}~${dir}`; }),
      sel: this.selected && this.selected !== this.start && !this.selected.startsWith('group:') ? readable(this.selected) : null,
      reveal,
    };
  }

  _changed() {
    if (this.options.onState) this.options.onState(this.state());
  }

  async reload({ depth = this.depth, direction = this.direction } = {}) {
    this.depth = depth;
    this.direction = direction;
    this.nodes.clear(); this.edges.clear(); this.ins.clear(); this.outs.clear(); this.loaded.clear();
    this.open = [];
    this.collapsed.clear();
    this.truncated = false;
    this._setBusy(true, 'Loading lineage…');
    try {
      await this._fetch(this.start, this.direction, this.depth);
      this._checkStart();
      this._clearProblem();
      this.draw({ fit: true });
    } catch (err) {
      // The old drawing's data is gone: show why instead of it, with a way back.
      this.status.textContent = '';
      this._showProblem(err);
    } finally {
      this._setBusy(false);
    }
    this._changed();
  }

  _showProblem(err) {
    this._clearProblem();
    this.canvas.hidden = true;
    this.panel.hidden = true;
    this.problem = h('div', { class: 'state-box error', role: 'alert' },
      h('div', { class: 'error-title' }, err.code ? h('code', { class: 'error-code' }, err.code) : null, ' ', `Could not load: ${err.message}`),
      h('button', { class: 'btn small', type: 'button', onclick: () => this.reload() }, 'Try again'));
    this.canvas.before(this.problem);
  }

  _clearProblem() {
    if (this.problem) this.problem.remove();
    this.problem = null;
    this.canvas.hidden = false;
    this.panel.hidden = false;
  }

  async expand(id, dir, action) {
    const key = `${id}~${dir}`;
    if (action === 'collapse') {
      this.collapsed.add(key);
      this.draw({ anchor: id });
      return;
    }
    if (this.collapsed.has(key)) {
      this.collapsed.delete(key);
      this.draw({ anchor: id });
      return;
    }
    const loaded = this.loaded.get(id);
    if (loaded && loaded[dir]) { this.draw({ anchor: id }); return; }
    this._setBusy(true, `Loading ${dir === 'up' ? 'upstream' : 'downstream'}…`);
    try {
      await this._fetch(id, dir === 'up' ? 'UPSTREAM' : 'DOWNSTREAM', 1);
      const now = this.loaded.get(id);
      if (now) now[dir] = true;
      this.open.push(key);
      this.selected = id;
      this.draw({ anchor: id });
    } catch (err) {
      this.status.textContent = `Could not expand: ${err.message}`;
    } finally {
      this._setBusy(false);
    }
    this._changed();
  }

  revealGroup(groupId, step) {
    const group = this.groups.get(groupId);
    if (!group) return;
    this.reveal.set(group.key, (this.reveal.get(group.key) || 0) + step);
    this.selected = groupId;
    this.draw({ anchor: group.parent });
    this._changed();
  }

  select(id) {
    this.selected = id;
    for (const el of this.view.viewport.querySelectorAll('.gnode.selected')) el.classList.remove('selected');
    if (id) this.view.viewport.querySelector(`.gnode[data-id="${CSS.escape(id)}"]`)?.classList.add('selected');
    this._panel();
    this._changed();
  }

  /** Which loaded nodes show, and which siblings are folded into groups. */
  _visible() {
    const pinned = new Set([this.start, this.selected]);
    for (const o of this.open) pinned.add(o.split('~')[0]);
    const visible = new Set([this.start]);
    const order = [this.start];
    const groups = new Map();
    const byId = (a, b) => (this.nodes.get(a)?.mlmdId ?? 0) - (this.nodes.get(b)?.mlmdId ?? 0);
    for (let i = 0; i < order.length; i += 1) {
      const id = order[i];
      for (const dir of ['up', 'down']) {
        if (this.collapsed.has(`${id}~${dir}`)) continue;
        const neighbours = [...(dir === 'up' ? this.ins : this.outs).get(id) || []].filter((n) => !visible.has(n));
        if (!neighbours.length) continue;
        const show = [];
        if (neighbours.length <= GROUP_AT) {
          show.push(...neighbours.sort(byId));
        } else {
          const byType = new Map();
          for (const n of neighbours) {
            const t = this.nodes.get(n).type;
            if (!byType.has(t)) byType.set(t, []);
            byType.get(t).push(n);
          }
          for (const [type, members] of byType) {
            members.sort(byId);
            if (members.length <= GROUP_SMALL) { show.push(...members); continue; }
            const key = `${readable(id)}~${dir}~${type}`;
            const revealed = this.reveal.get(key) || 0;
            const hidden = [];
            members.forEach((m, j) => { if (j < revealed || pinned.has(m)) show.push(m); else hidden.push(m); });
            if (hidden.length) groups.set(`group:${key}`, { id: `group:${key}`, key, parent: id, dir, type, members: hidden, kind: this.nodes.get(members[0]).kind });
          }
        }
        for (const n of show) { visible.add(n); order.push(n); }
      }
    }
    for (const g of groups.values()) g.members = g.members.filter((m) => !visible.has(m));
    for (const [k, g] of [...groups]) if (!g.members.length) groups.delete(k);
    return { order, visible, groups };
  }

  draw({ anchor = null, fit = false } = {}) {
    const started = performance.now();
    const { order, visible, groups } = this._visible();
    this.groups = groups;
    const nodes = [];
    for (const id of order) {
      const n = this.nodes.get(id);
      const handles = [];
      for (const dir of ['up', 'down']) {
        const known = (dir === 'up' ? this.ins : this.outs).get(id).size;
        const loaded = this.loaded.get(id)?.[dir];
        const total = n.total[dir];
        const word = dir === 'up' ? 'upstream' : 'downstream';
        if (this.collapsed.has(`${id}~${dir}`)) {
          handles.push({ dir, action: 'expand', label: `+${known}`, title: `Show ${known} ${word}` });
        } else if (!loaded && total > known) {
          const more = total - known;
          handles.push({ dir, action: 'expand', label: `+${more > 99 ? '99+' : more}`, title: `Expand ${word} (${more} more)` });
        } else if (known > 0 && id !== this.start) {
          handles.push({ dir, action: 'collapse', label: '−', title: `Hide ${word}` });
        }
      }
      nodes.push({ ...n, handles });
    }
    const edges = [];
    for (const e of this.edges.values()) if (visible.has(e.source) && visible.has(e.target)) edges.push(e);
    for (const g of groups.values()) {
      const more = g.members.length;
      nodes.push({
        id: g.id,
        kind: 'group',
        classes: `group-${g.kind}`,
        name: `${more.toLocaleString()} more ${g.kind}s`,
        type: g.type,
        count: more,
        sub: `${shortType(g.type)} · show ${Math.min(REVEAL_STEP, more)}`,
        handles: [],
      });
      edges.push(g.dir === 'up' ? { source: g.id, target: g.parent, type: 'group' } : { source: g.parent, target: g.id, type: 'group' });
    }
    const shown = new Set(nodes.map((n) => n.id));
    const added = this.lastShown ? [...shown].filter((id) => !this.lastShown.has(id)) : [];
    this.lastShown = shown;
    // a small graph stays whole on screen; in a large one, what just appeared does
    const focus = nodes.length <= 40 ? nodes.map((n) => n.id) : added.slice(0, 60);
    this.view.render(nodes, edges, { anchor, fit, selected: this.selected, start: this.start, focus });
    const hiddenCount = [...groups.values()].reduce((a, g) => a + g.members.length, 0);
    const ms = performance.now() - started;
    this.root.dataset.renderMs = ms.toFixed(1);
    this.root.dataset.visible = String(order.length);
    this.status.textContent = `${order.length.toLocaleString()} of ${this.nodes.size.toLocaleString()} loaded nodes shown`
      + (groups.size ? ` · ${hiddenCount.toLocaleString()} in ${groups.size} group${groups.size > 1 ? 's' : ''}` : '');
    this.notice.hidden = !this.truncated;
    this.notice.textContent = this.truncated
      ? `More than ${MAX_NODES.toLocaleString()} nodes are within ${this.depth} hops: the nearest are loaded. Expand nodes to see further.`
      : '';
    this._panel();
  }

  _panel() {
    if (this.options.compact) {
      this._compactPanel();
      return;
    }
    const panel = clear(this.panel);
    const id = this.selected;
    if (id && id.startsWith('group:')) {
      const g = this.groups.get(id);
      if (!g) return;
      const parent = this.nodes.get(g.parent);
      panel.append(
        h('div', { class: 'panel-kicker' }, 'Group'),
        h('h3', null, `${g.members.length.toLocaleString()} × ${shortType(g.type)}`),
        h('p', { class: 'muted' }, `${g.dir === 'up' ? 'Upstream' : 'Downstream'} of `, h('a', { href: pageOf(g.parent) }, parent ? parent.name : readable(g.parent)), '. Grouped to keep large lineages readable.'),
        h('div', { class: 'button-row' },
          h('button', { class: 'btn primary', type: 'button', onclick: () => this.revealGroup(id, REVEAL_STEP) }, `Show ${Math.min(REVEAL_STEP, g.members.length)} more`),
          g.members.length > REVEAL_STEP ? h('button', { class: 'btn', type: 'button', onclick: () => this.revealGroup(id, g.members.length) }, `Show all ${g.members.length.toLocaleString()}`) : null),
        h('ul', { class: 'member-list' }, g.members.slice(0, 12).map((m) => {
          const n = this.nodes.get(m);
          return h('li', null, h('a', { href: pageOf(m) }, n.name), ' ', h('span', { class: 'muted' }, readable(m)));
        }), g.members.length > 12 ? h('li', { class: 'muted' }, `… ${g.members.length - 12} more`) : null),
      );
      return;
    }
    const n = id ? this.nodes.get(id) : null;
    if (!n) {
      panel.append(h('p', { class: 'muted' }, 'Select a node to see its details. Double-click opens its page.'));
      return;
    }
    const loaded = this.loaded.get(id) || {};
    const known = { up: this.ins.get(id).size, down: this.outs.get(id).size };
    const details = document.createDocumentFragment();
    this._details(id).then((d) => {
      if (!d || this.selected !== id) return;
      const dl = panel.querySelector('dl.kv');
      const rows = [];
      const run = d.run || (d.producer && d.producer.run);
      if (d.uri) rows.push(h('dt', null, 'uri'), h('dd', { class: 'mono wrap' }, d.uri));
      if (d.startTime) rows.push(h('dt', null, 'started'), h('dd', null, fmtTime(d.startTime)), h('dt', null, 'duration'), h('dd', null, fmtDuration(d.durationSeconds)));
      if (d.createTime) rows.push(h('dt', null, 'created'), h('dd', null, fmtTime(d.createTime)));
      if (run) rows.push(h('dt', null, 'run'), h('dd', null, h('a', { href: `#/runs/${run.mlmdId}` }, run.name)));
      const anchor = dl && dl.children[2];
      for (const r of rows) dl.insertBefore(r, anchor);
    });
    panel.append(
      h('div', { class: 'panel-kicker' }, n.kind === 'artifact' ? 'Artifact' : 'Execution', id === this.start ? ' · start' : ''),
      h('h3', null, n.name),
      h('div', { class: 'badges' }, typeBadge(n.type), ' ', stateBadge(n.state)),
      h('dl', { class: 'kv' },
        h('dt', null, 'id'), h('dd', null, h('code', null, readable(id))),
        details,
        h('dt', null, 'upstream'), h('dd', null, `${n.total.up}`),
        h('dt', null, 'downstream'), h('dd', null, `${n.total.down}`)),
      h('div', { class: 'button-row' },
        h('a', { class: 'btn primary', href: pageOf(id) }, 'Open page'),
        id !== this.start ? h('a', { class: 'btn', href: `#/lineage?node=${encodeURIComponent(readable(id))}&depth=${this.depth}` }, 'Explore from here') : null),
      h('div', { class: 'button-row' },
        !loaded.up && n.total.up > known.up ? h('button', { class: 'btn', type: 'button', onclick: () => this.expand(id, 'up', 'expand') }, '← Expand upstream') : null,
        !loaded.down && n.total.down > known.down ? h('button', { class: 'btn', type: 'button', onclick: () => this.expand(id, 'down', 'expand') }, 'Expand downstream →') : null),
    );
  }

  async _details(id) {
    this.detailCache ||= new Map();
    if (!this.detailCache.has(id)) {
      this.detailCache.set(id, gql(DETAILS_QUERY, { id: readable(id) }).then((d) => d.node).catch(() => null));
    }
    return this.detailCache.get(id);
  }

  _compactPanel() {
    const panel = clear(this.panel);
    const id = this.selected;
    const n = id && !id.startsWith('group:') ? this.nodes.get(id) : null;
    if (!n) {
      panel.append(h('span', { class: 'muted' }, 'Click + to expand, a group to open it; double-click a node to open its page.'));
      return;
    }
    panel.append(typeBadge(n.type), ' ', h('strong', null, n.name), ' ', stateBadge(n.state), ' ',
      h('a', { href: pageOf(id) }, 'Open page →'));
  }
}

/** A fixed graph (a run's steps and their artifacts): click opens a node's page. */
export function staticGraph(container, nodes, edges, { height = 300 } = {}) {
  const view = new GraphView(container, {
    height,
    onSelect: (id) => { if (id) location.hash = pageOf(id); },
  });
  view.render(nodes.map((n) => ({ ...n, handles: [] })), edges, { fit: true });
  return view;
}
