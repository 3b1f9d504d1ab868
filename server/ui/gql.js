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
    body = await response.json();
  } catch (err) {
    throw new GraphQLError([{ message: `The server answered ${response.status} ${response.statusText}.`, extensions: { code: 'HTTP' } }]);
  }
  if (body.errors && body.errors.length) throw new GraphQLError(body.errors, body.data);
  return body.data;
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
