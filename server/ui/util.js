// Small helpers shared by the pages: DOM building, formatting, URL state.

/** h('div', {class: 'x', onclick: fn}, child, 'text', [more]) -> Element */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        el.className = value;
      } else if (key === 'dataset') {
        Object.assign(el.dataset, value);
      } else if (value === true) {
        el.setAttribute(key, '');
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(textNode(String(child)));
  }
  return el;
}

// Right-to-left letters and bidi controls: in user text (names, properties) they may
// reorder what stands around them, e.g. an unclosed U+202E reversing a breadcrumb.
const BIDI = /[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefc]/;

function textNode(text) {
  const node = document.createTextNode(text);
  if (!BIDI.test(text)) return node;
  const isolated = document.createElement('bdi');
  isolated.appendChild(node);
  return isolated;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

// ---------------------------------------------------------------- formatting

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

export function fmtRelative(iso) {
  if (!iso) return '—';
  const then = new Date(iso).getTime();
  const seconds = Math.round((Date.now() - then) / 1000);
  if (Number.isNaN(seconds)) return String(iso);
  if (seconds < 45) return 'just now';
  const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      const n = Math.round(seconds / size);
      return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
  }
  return `${seconds} s ago`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  const hours = Math.floor(m / 60);
  return `${hours} h ${m % 60} min`;
}

export function fmtNumber(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  const abs = Math.abs(value);
  // Every double past 2^53 is an "integer" to JavaScript: 1e300 would print 301 digits.
  if (Number.isInteger(value) && abs < 1e15) return value.toLocaleString();
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  return value.toLocaleString(undefined, { maximumFractionDigits: 4 });
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function fmtValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return fmtNumber(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A coloured pill for a run, execution or artifact state. */
export function stateBadge(state, extra = '') {
  const name = state || 'UNKNOWN';
  return h('span', { class: `badge state-${name} ${extra}`, title: name }, name.toLowerCase().replace(/_/g, ' '));
}

export function typeBadge(typeName) {
  const short = String(typeName || '').replace(/^system\./, '');
  return h('span', { class: 'type-badge', title: typeName }, short || '?');
}

// ---------------------------------------------------------------- ids and links

/** "Artifact:12" for an MLMD id of a kind ("Artifact", "Execution", "PipelineRun"). */
export function readableId(kind, mlmdId) {
  return `${kind}:${mlmdId}`;
}

/** The typename and MLMD id of a global id (base64 of "Artifact:12") or a readable one. */
export function parseGlobalId(id) {
  let text = String(id);
  if (!/^[A-Za-z]+:\d+$/.test(text)) {
    try {
      text = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    } catch (e) {
      return null;
    }
  }
  const m = /^([A-Za-z]+):(\d+)$/.exec(text);
  return m ? { kind: m[1], mlmdId: Number(m[2]) } : null;
}

export function pageOf(id) {
  const parsed = parseGlobalId(id);
  if (!parsed) return '#/';
  return {
    Artifact: `#/artifacts/${parsed.mlmdId}`,
    Execution: `#/executions/${parsed.mlmdId}`,
    PipelineRun: `#/runs/${parsed.mlmdId}`,
    Context: `#/contexts/${parsed.mlmdId}`,
  }[parsed.kind] || '#/';
}

export function hashFor(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = q.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** Replace the URL's state without re-rendering the page (a shareable link). */
export function replaceHash(path, params) {
  const hash = hashFor(path, params);
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
