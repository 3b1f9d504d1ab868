// The one way the UI reads data: POST /graphql. Plus plotly, loaded on first use.

import { h } from './util.js';

export class GraphQLError extends Error {
  constructor(errors, data = null) {
    const first = errors[0] || {};
    super(first.message || 'request failed');
    this.errors = errors;
    this.data = data;
    this.code = (first.extensions && first.extensions.code) || null;
  }
}

// Integers past 2^53 (int64 properties, nanosecond times) lose digits as JavaScript
// numbers: they are kept as their exact digits, a string, where the browser gives the
// source text (JSON.parse's third reviver argument). Shown as they are; compared and
// plotted as numbers, JavaScript converting them (close enough there).
function exactIntegers(key, value, context) {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
    return context.source;
  }
  return value;
}

export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new GraphQLError([{ message: `Cannot reach the server (${err.message}).`, extensions: { code: 'NETWORK' } }]);
  }
  let body;
  try {
    body = JSON.parse(await response.text(), exactIntegers);
  } catch (err) {
    throw new GraphQLError([{ message: `The server answered ${response.status} ${response.statusText}.`, extensions: { code: 'HTTP' } }]);
  }
  if (body.errors && body.errors.length) throw new GraphQLError(body.errors, body.data);
  return body.data;
}

// A live GraphQL subscription over a websocket (the graphql-transport-ws protocol).
// onEvent(data) for each result; onEnd(error or null) once, when the server ends it or
// the socket fails. Returns a function that ends it from this side (onEnd is not called).
export function subscribe(query, variables, onEvent, onEnd) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let socket = null;
  let ended = false;
  const end = (err) => {
    if (ended) return;
    ended = true;
    try { socket.close(1000); } catch (e) { /* already closed */ }
    onEnd(err);
  };
  try {
    socket = new WebSocket(`${scheme}://${location.host}/graphql`, 'graphql-transport-ws');
  } catch (err) {
    setTimeout(() => end(err), 0);
    return () => { ended = true; };
  }
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
  socket.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    } else if (msg.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else if (msg.type === 'next') {
      const errors = msg.payload && msg.payload.errors;
      if (errors && errors.length) end(new GraphQLError(errors));
      else onEvent(msg.payload.data);
    } else if (msg.type === 'error') {
      end(new GraphQLError(Array.isArray(msg.payload) ? msg.payload : []));
    } else if (msg.type === 'complete') {
      end(null);
    }
  };
  socket.onerror = () => end(new GraphQLError([{ message: 'Live updates are unavailable.', extensions: { code: 'NETWORK' } }]));
  socket.onclose = () => end(null);
  return () => {
    if (ended) return;
    ended = true;
    try {
      socket.send(JSON.stringify({ id: '1', type: 'complete' }));
      socket.close(1000);
    } catch (e) { /* not open yet or already closed */ }
  };
}

// ---------------------------------------------------------------- states

export function loadingBox(text = 'Loading…') {
  return h('div', { class: 'state-box loading', role: 'status' }, h('span', { class: 'spinner' }), text);
}

export function emptyBox(title, detail) {
  return h('div', { class: 'state-box empty' }, h('strong', null, title), detail ? h('div', { class: 'muted' }, detail) : null);
}

export function errorBox(err, retry) {
  const code = err && err.code ? h('code', { class: 'error-code' }, err.code) : null;
  return h('div', { class: 'state-box error', role: 'alert' },
    h('div', { class: 'error-title' }, code, ' ', err && err.message ? err.message : String(err)),
    retry ? h('button', { class: 'btn small', onclick: retry }, 'Try again') : null);
}

// ---------------------------------------------------------------- plotly

let plotlyPromise = null;

export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/static/plotly.min.js';
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { plotlyPromise = null; reject(new Error('could not load plotly.js')); };
      document.head.appendChild(script);
    });
  }
  return plotlyPromise;
}

/** Draw a figure ({data, layout} from the figure/compareFigure fields) into el. */
export async function plot(el, figure, { height } = {}) {
  const Plotly = await loadPlotly();
  const layout = { ...(figure.layout || {}) };
  layout.autosize = true;
  if (height) layout.height = height;
  delete layout.width;
  await Plotly.newPlot(el, figure.data || [], layout, {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d'],
    toImageButtonOptions: { format: 'png', scale: 2 },
  });
  el.classList.add('plotted');
  return el;
}
