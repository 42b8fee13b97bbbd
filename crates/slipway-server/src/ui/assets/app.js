// Slipway web UI. A hash-routed single page over the MLflow REST API of this server.
//
// Safety rule: user data (names, params, tags, descriptions) only ever reaches the page as
// text nodes or attribute values set through the DOM; nothing is parsed as HTML.
'use strict';

(() => {
  const API = '/api/2.0/mlflow';
  const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#2f6db5', '#e07b39', '#3a9c6c', '#c2455b', '#7d5ba6', '#8c6d3f', '#d16aa6', '#5f6b78'];
  const PAGE_SIZES = [25, 50, 100, 250];
  const MAX_CHARTS = 24;
  const HISTORY_PAGE = 25000;

  // ---------------------------------------------------------------- DOM helpers

  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
      else if (k === 'checked' || k === 'disabled' || k === 'value' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    return el;
  }

  /** An HTML element: `h('a', {href: '#/'}, 'text', child, ...)`. Strings become text. */
  function h(tag, attrs, ...children) {
    return append(setAttrs(document.createElement(tag), attrs), children);
  }

  /** An SVG element. */
  function s(tag, attrs, ...children) {
    return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // ---------------------------------------------------------------- formatting

  function trimZeros(t) {
    return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
  }

  /** Numbers for people, as slipway_data::html::format_number. */
  function fmtNum(x) {
    if (typeof x !== 'number') x = Number(x);
    if (Number.isNaN(x)) return 'NaN';
    if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
    const ax = Math.abs(x);
    if (Number.isInteger(x) && ax < 1e15) return String(x);
    if (ax < 1e-3 || ax >= 1e6) {
      const [m, e] = x.toExponential(3).split('e');
      return trimZeros(m) + 'e' + e.replace('+', '');
    }
    const mag = Math.floor(Math.log10(ax));
    const decimals = Math.min(6, Math.max(0, 3 - mag));
    return trimZeros(x.toFixed(decimals));
  }

  function pad2(n) { return String(n).padStart(2, '0'); }

  function fmtTime(ms) {
    if (ms === undefined || ms === null || ms === '') return '';
    const d = new Date(Number(ms));
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
      `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function fmtDuration(start, end) {
    if (!start || !end) return '';
    let sec = Math.max(0, (Number(end) - Number(start)) / 1000);
    if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)}s`;
    const min = Math.floor(sec / 60);
    sec = Math.round(sec % 60);
    if (min < 60) return `${min}m ${sec}s`;
    return `${Math.floor(min / 60)}h ${min % 60}m`;
  }

  function fmtBytes(n) {
    if (n === undefined || n === null) return '0 B';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
  }

  function badge(text, kind) {
    return h('span', {class: ['badge', kind || text]}, text);
  }

  function byKey(a, b) { return a.key < b.key ? -1 : a.key > b.key ? 1 : 0; }

  function runName(run) {
    const info = run.info || {};
    return info.run_name || tagValue(run, 'mlflow.runName') || runId(run);
  }

  function runId(run) {
    const info = run.info || {};
    return info.run_id || info.run_uuid || '';
  }

  function tagValue(run, key) {
    const tags = (run.data && run.data.tags) || [];
    const t = tags.find(x => x.key === key);
    return t ? t.value : undefined;
  }

  // ---------------------------------------------------------------- REST calls

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function queryString(query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) v.forEach(x => qs.append(k, x));
      else qs.append(k, String(v));
    }
    const t = qs.toString();
    return t ? '?' + t : '';
  }

  /** Calls the REST API; resolves to the parsed body, rejects with an ApiError. */
  async function call(method, path, args) {
    const init = {method, headers: {Accept: 'application/json'}, credentials: 'same-origin'};
    let url = path.startsWith('/') ? path : `${API}/${path}`;
    if (method === 'GET') url += queryString(args);
    else {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(args || {});
    }
    let resp;
    try {
      resp = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, 'NETWORK_ERROR', `The server could not be reached (${e.message}).`);
    }
    const text = await resp.text();
    let body = {};
    if (text) {
      try { body = JSON.parse(text); } catch (_) { body = {message: text}; }
    }
    if (!resp.ok) {
      throw new ApiError(resp.status, body.error_code || `HTTP_${resp.status}`,
        body.message || resp.statusText || 'request failed');
    }
    return body;
  }

  const get = (path, query) => call('GET', path, query);
  const post = (path, body) => call('POST', path, body);

  function isMissingEndpoint(err) {
    return err instanceof ApiError &&
      (err.code === 'ENDPOINT_NOT_FOUND' || ((err.status === 404 || err.status === 405 || err.status === 501) &&
        !err.code.startsWith('RESOURCE_')));
  }

  async function metricHistory(id, key) {
    const points = [];
    let token;
    for (let page = 0; page < 8; page++) {
      const r = await get('metrics/get-history',
        {run_id: id, run_uuid: id, metric_key: key, max_results: HISTORY_PAGE, page_token: token});
      points.push(...(r.metrics || []));
      token = r.next_page_token;
      if (!token) break;
    }
    return points;
  }

  // ---------------------------------------------------------------- routing

  let renderSeq = 0;

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const parts = path.split('/').filter(Boolean).map(p => {
      try { return decodeURIComponent(p); } catch (_) { return p; }
    });
    return {parts, params};
  }

  function hashFor(parts, params) {
    const path = '#/' + parts.map(encodeURIComponent).join('/');
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    }
    const t = qs.toString();
    return t ? `${path}?${t}` : path;
  }

  const runHref = id => hashFor(['runs', id]);
  const experimentHref = id => hashFor(['experiments', id]);
  const modelHref = name => hashFor(['models', name]);

  function setActiveNav(which) {
    for (const a of document.querySelectorAll('header.top nav a')) {
      a.classList.toggle('active', a.dataset.nav === which);
    }
  }

  async function route() {
    const seq = ++renderSeq;
    const app = document.getElementById('app');
    const {parts, params} = parseHash();
    const view = h('div', {class: 'view'});
    // Only the newest navigation may write to the page.
    const commit = () => {
      if (seq === renderSeq) clear(app).appendChild(view);
    };
    const timer = setTimeout(() => {
      if (seq === renderSeq && !view.isConnected) clear(app).appendChild(h('div', {class: 'loading'}, 'Loading…'));
    }, 150);
    try {
      const [head, id] = parts;
      if (!head || (head === 'experiments' && parts.length === 1)) {
        setActiveNav('experiments');
        await experimentsPage(view, params);
      } else if (head === 'experiments' && parts.length === 2) {
        setActiveNav('experiments');
        await runsPage(view, id, params);
      } else if (head === 'runs' && parts.length === 2) {
        setActiveNav('experiments');
        await runPage(view, id);
      } else if (head === 'compare') {
        setActiveNav('experiments');
        await comparePage(view, params);
      } else if (head === 'models' && parts.length === 1) {
        setActiveNav('models');
        await modelsPage(view, params);
      } else if (head === 'models' && parts.length === 2) {
        setActiveNav('models');
        await modelPage(view, id);
      } else {
        setActiveNav('');
        document.title = 'Not found · Slipway';
        view.appendChild(errorBox(new ApiError(404, 'NOT_FOUND', `No page at ${location.hash}.`)));
      }
    } catch (err) {
      clear(view).appendChild(errorBox(err));
    } finally {
      clearTimeout(timer);
      commit();
    }
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  // ---------------------------------------------------------------- shared pieces

  function errorBox(err, context) {
    const code = err instanceof ApiError ? err.code : 'ERROR';
    return h('div', {class: 'notice error', role: 'alert'},
      context ? h('div', null, h('b', null, context)) : null,
      h('span', {class: 'code'}, code),
      h('span', {class: 'message'}, err.message));
  }

  function crumbs(...items) {
    const out = h('div', {class: 'crumbs'});
    items.forEach((item, i) => {
      if (i > 0) out.appendChild(h('span', {class: 'sep'}, '/'));
      out.appendChild(item[1] ? h('a', {href: item[1]}, item[0]) : h('span', null, item[0]));
    });
    return out;
  }

  function section(title, count, ...body) {
    return h('section', null,
      h('h2', null, title, count === null || count === undefined ? null : h('span', {class: 'count'}, String(count))),
      ...body);
  }

  function kvTable(rows, opts) {
    if (!rows.length) return h('p', {class: 'empty'}, (opts && opts.empty) || 'None');
    return h('div', {class: 'table-wrap'}, h('table', {class: 'data kv'},
      h('tbody', null, rows.map(r =>
        h('tr', {class: r.cls}, h('td', {class: 'key'}, r.key), h('td', {class: ['val', r.num && 'num']}, r.value))))));
  }

  function tagsList(tags) {
    return (tags || []).map(t => h('span', {class: 'tag'}, h('b', null, t.key), ' = ', t.value));
  }

  // ---------------------------------------------------------------- charts

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function ticks(lo, hi, count) {
    const step = niceStep(hi - lo, count);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  function domain(lo, hi, integer) {
    if (lo === hi) {
      const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      return integer ? [lo - 1, hi + 1] : [lo - d, hi + d];
    }
    const step = niceStep(hi - lo, 5);
    return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
  }

  /**
   * An SVG line chart of `series` ([{name, points: [[step, value], ...]}]): step on x.
   */
  function lineChart(series, opts) {
    const W = (opts && opts.width) || 380;
    const H = (opts && opts.height) || 210;
    const m = {left: 50, right: 14, top: 10, bottom: 34};
    const svg = s('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
      'aria-label': (opts && opts.label) || 'metric chart'});
    const all = series.flatMap(sr => sr.points).filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (!all.length) {
      svg.appendChild(s('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted'}, 'no finite values'));
      return svg;
    }
    let [x0, x1] = domain(Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0])), true);
    let [y0, y1] = domain(Math.min(...all.map(p => p[1])), Math.max(...all.map(p => p[1])), false);
    if (x0 < 0 && all.every(p => p[0] >= 0)) x0 = 0;
    const pw = W - m.left - m.right;
    const ph = H - m.top - m.bottom;
    const xs = x => m.left + ((x - x0) / (x1 - x0)) * pw;
    const ys = y => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
    const grid = s('g', null);
    for (const t of ticks(y0, y1, 5)) {
      grid.appendChild(s('line', {x1: m.left, x2: W - m.right, y1: ys(t), y2: ys(t), stroke: '#e4e9f0'}));
      grid.appendChild(s('text', {x: m.left - 6, y: ys(t), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'muted'}, fmtNum(t)));
    }
    // Steps are integers: no tick between two steps.
    const xt = ticks(x0, x1, 6).filter(t => Number.isInteger(t) || !all.every(p => Number.isInteger(p[0])));
    for (const t of xt) {
      grid.appendChild(s('line', {x1: xs(t), x2: xs(t), y1: m.top + ph, y2: m.top + ph + 4, stroke: '#9aa5b1'}));
      grid.appendChild(s('text', {x: xs(t), y: m.top + ph + 16, 'text-anchor': 'middle', class: 'muted'}, fmtNum(t)));
    }
    grid.appendChild(s('line', {x1: m.left, x2: W - m.right, y1: m.top + ph, y2: m.top + ph, stroke: '#9aa5b1'}));
    grid.appendChild(s('line', {x1: m.left, x2: m.left, y1: m.top, y2: m.top + ph, stroke: '#9aa5b1'}));
    grid.appendChild(s('text', {x: m.left + pw / 2, y: H - 4, 'text-anchor': 'middle', class: 'muted'}, 'step'));
    svg.appendChild(grid);
    series.forEach((sr, i) => {
      const color = PALETTE[(sr.color === undefined ? i : sr.color) % PALETTE.length];
      const pts = sr.points.filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]));
      if (!pts.length) return;
      const d = pts.map((p, j) => `${j ? 'L' : 'M'}${xs(p[0]).toFixed(1)} ${ys(p[1]).toFixed(1)}`).join('');
      svg.appendChild(s('path', {d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round', class: 'series'},
        s('title', null, sr.name)));
      if (pts.length <= 60) {
        for (const p of pts) {
          svg.appendChild(s('circle', {cx: xs(p[0]).toFixed(1), cy: ys(p[1]).toFixed(1), r: pts.length === 1 ? 4 : 2.5, fill: color},
            s('title', null, `${sr.name ? sr.name + ' · ' : ''}step ${p[0]}: ${fmtNum(p[1])}`)));
        }
      }
    });
    return svg;
  }

  function legend(names) {
    return h('div', {class: 'legend'}, names.map((n, i) =>
      h('span', null, h('span', {class: ['swatch', `c${i % PALETTE.length}`]}), n)));
  }

  function historyPoints(history) {
    return history
      .map(m => [Number(m.step || 0), Number(m.value)])
      .sort((a, b) => a[0] - b[0]);
  }

  // ---------------------------------------------------------------- experiments list

  async function experimentsPage(view, params) {
    document.title = 'Experiments · Slipway';
    const token = params.get('token') || undefined;
    const r = await post('experiments/search',
      {max_results: 100, page_token: token, view_type: 'ACTIVE_ONLY', order_by: ['last_update_time DESC']});
    const exps = r.experiments || [];
    view.appendChild(h('h1', null, 'Experiments'));
    view.appendChild(h('div', {class: 'subtitle'}, h('span', null, 'Tracked with the MLflow REST API at ', h('code', null, API))));
    const body = exps.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'experiments'},
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'ID'), h('th', null, 'Created'),
        h('th', null, 'Last updated'), h('th', null, 'Artifact location'), h('th', null, 'Tags'))),
      h('tbody', null, exps.map(e => h('tr', null,
        h('td', null, h('a', {href: experimentHref(e.experiment_id)}, e.name)),
        h('td', {class: 'mono'}, e.experiment_id),
        h('td', {class: 'nowrap'}, fmtTime(e.creation_time)),
        h('td', {class: 'nowrap'}, fmtTime(e.last_update_time)),
        h('td', {class: 'mono muted'}, e.artifact_location || ''),
        h('td', null, tagsList(e.tags))))))) :
      h('p', {class: 'empty'}, 'No experiments yet. Create one with ', h('code', null, 'mlflow.set_experiment("name")'), '.');
    view.appendChild(section('All experiments', exps.length, body,
      r.next_page_token ? h('div', {class: 'pager'}, h('span', {class: 'spacer'}),
        h('a', {class: 'button', href: hashFor(['experiments'], {token: r.next_page_token})}, 'Next ›')) : null));
  }

  // ---------------------------------------------------------------- runs of an experiment

  // Tokens of the pages before the current one, for "Previous" (page tokens are opaque).
  const pageStack = {key: '', tokens: []};

  function quoteKey(key) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return key;
    return key.includes('`') ? `"${key.replace(/"/g, '\\"')}"` : `\`${key}\``;
  }

  function parseOrder(text) {
    const m = /^(.*?)(?:\s+(ASC|DESC))?$/i.exec((text || '').trim());
    return {field: m ? m[1] : '', desc: !!(m && m[2] && m[2].toUpperCase() === 'DESC')};
  }

  async function runsPage(view, expId, params) {
    const filter = params.get('filter') || '';
    const order = params.get('order') || '';
    const wanted = Number(params.get('size'));
    const size = Number.isInteger(wanted) && wanted >= 1 && wanted <= 1000 ? wanted : PAGE_SIZES[0];
    const token = params.get('token') || '';
    const state = {filter, order, size};
    const href = extra => hashFor(['experiments', expId], Object.assign({}, state, extra));
    const stackKey = JSON.stringify([expId, filter, order, size]);
    if (pageStack.key !== stackKey) { pageStack.key = stackKey; pageStack.tokens = []; }

    const [expResult, runsResult] = await Promise.allSettled([
      get('experiments/get', {experiment_id: expId}),
      post('runs/search', {experiment_ids: [expId], filter, order_by: order ? [order] : [],
        max_results: size, page_token: token || undefined, run_view_type: 'ACTIVE_ONLY'}),
    ]);
    if (expResult.status === 'rejected') throw expResult.reason;
    const exp = expResult.value.experiment || {};
    document.title = `${exp.name} · Slipway`;
    view.appendChild(crumbs(['Experiments', '#/'], [exp.name || expId]));
    view.appendChild(h('h1', null, exp.name || expId));
    view.appendChild(h('div', {class: 'subtitle'},
      h('span', null, 'ID ', h('b', {class: 'mono'}, expId)),
      exp.artifact_location ? h('span', null, 'Artifacts ', h('b', {class: 'mono'}, exp.artifact_location)) : null,
      exp.creation_time ? h('span', null, 'Created ', h('b', null, fmtTime(exp.creation_time))) : null,
      (exp.tags || []).length ? h('span', null, tagsList(exp.tags)) : null));

    const input = h('input', {type: 'text', name: 'filter', value: filter, id: 'filter', spellcheck: 'false',
      placeholder: "metrics.auc > 0.9 AND params.model = 'gbdt'", 'aria-label': 'Filter runs'});
    const selected = new Set();
    const compareBtn = h('button', {type: 'button', disabled: true, id: 'compare',
      onclick: () => go(hashFor(['compare'], {runs: [...selected].join(',')}))}, 'Compare');
    const updateCompare = () => {
      compareBtn.disabled = selected.size < 2;
      compareBtn.textContent = selected.size ? `Compare (${selected.size})` : 'Compare';
    };
    const form = h('form', {onsubmit: ev => {
      ev.preventDefault();
      go(href({filter: input.value.trim(), token: ''}));
    }}, input, h('button', {type: 'submit', class: 'primary'}, 'Search'),
    filter ? h('a', {class: 'button', href: href({filter: ''})}, 'Clear') : null);
    const box = section('Runs', null, h('div', {class: 'toolbar'}, form, compareBtn),
      h('div', {class: 'hint'}, 'Filter with MLflow’s syntax: ',
        h('code', null, 'metrics.<key> > 0.9'), ', ', h('code', null, "params.<key> = 'value'"), ', ',
        h('code', null, "tags.<key> LIKE 'a%'"), ', ', h('code', null, "attributes.status = 'FINISHED'"),
        ', joined with ', h('code', null, 'AND'), '. Click a column to sort.'));
    view.appendChild(box);

    if (runsResult.status === 'rejected') {
      box.appendChild(errorBox(runsResult.reason, filter ? 'The filter was rejected:' : null));
      return;
    }
    const runs = runsResult.value.runs || [];
    const next = runsResult.value.next_page_token;
    box.querySelector('h2').appendChild(h('span', {class: 'count'},
      `${runs.length}${next ? '+' : ''} ${filter ? 'matching ' : ''}on this page`));
    if (!runs.length) {
      box.appendChild(h('p', {class: 'empty', id: 'no-runs'}, filter ? 'No runs match this filter.' : 'No runs in this experiment yet.'));
    } else {
      box.appendChild(runsTable(runs, order, href, selected, updateCompare));
    }
    box.appendChild(pager(size, token, next, href));
  }

  function runsTable(runs, order, href, selected, onSelect) {
    const paramKeys = [...new Set(runs.flatMap(r => ((r.data && r.data.params) || []).map(p => p.key)))].sort();
    const metricKeys = [...new Set(runs.flatMap(r => ((r.data && r.data.metrics) || []).map(p => p.key)))].sort();
    const current = parseOrder(order);
    const sortHeader = (label, field, cls) => {
      const active = current.field === field;
      // First click sorts descending (best metric first); the next one flips it.
      const nextOrder = `${field} ${active && current.desc ? 'ASC' : 'DESC'}`;
      return h('th', {class: ['sortable', active && 'sorted', cls], title: `Sort by ${field}`,
        'data-order': field, onclick: () => go(href({order: nextOrder, token: ''}))},
      label, active ? h('span', {class: 'arrow'}, current.desc ? '▼' : '▲') : null);
    };
    const fixed = [
      h('th', null),
      sortHeader('Run', 'attributes.run_name'),
      sortHeader('Status', 'attributes.status'),
      sortHeader('Started', 'attributes.start_time'),
      h('th', null, 'Duration'),
      sortHeader('User', 'attributes.user_id'),
    ];
    const groups = h('tr', {class: 'groups'}, h('th', {colspan: fixed.length}),
      paramKeys.length ? h('th', {class: 'group params', colspan: paramKeys.length}, 'Parameters') : null,
      metricKeys.length ? h('th', {class: 'group metrics', colspan: metricKeys.length}, 'Metrics') : null);
    const cols = h('tr', null, fixed,
      paramKeys.map(k => sortHeader(k, `params.${quoteKey(k)}`)),
      metricKeys.map(k => sortHeader(k, `metrics.${quoteKey(k)}`, 'num')));
    const rows = runs.map(run => {
      const id = runId(run);
      const info = run.info || {};
      const params = new Map(((run.data && run.data.params) || []).map(p => [p.key, p.value]));
      const metrics = new Map(((run.data && run.data.metrics) || []).map(m => [m.key, m.value]));
      const box = h('input', {type: 'checkbox', 'aria-label': `Select ${runName(run)}`, checked: selected.has(id),
        onchange: ev => { if (ev.target.checked) selected.add(id); else selected.delete(id); onSelect(); }});
      return h('tr', {'data-run-id': id},
        h('td', {class: 'sel'}, box),
        h('td', null, h('a', {href: runHref(id), class: 'run-link'}, runName(run))),
        h('td', null, badge(info.status || 'UNKNOWN')),
        h('td', {class: 'nowrap'}, fmtTime(info.start_time)),
        h('td', null, fmtDuration(info.start_time, info.end_time)),
        h('td', null, info.user_id || ''),
        paramKeys.map(k => h('td', {class: 'mono'}, params.has(k) ? params.get(k) : '')),
        metricKeys.map(k => h('td', {class: 'num', title: metrics.has(k) ? String(metrics.get(k)) : ''},
          metrics.has(k) ? fmtNum(metrics.get(k)) : '')));
    });
    return h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'runs'},
      h('thead', null, groups, cols), h('tbody', null, rows)));
  }

  function pager(size, token, next, href) {
    const prev = pageStack.tokens.length ? pageStack.tokens[pageStack.tokens.length - 1] : null;
    const sizeSelect = h('select', {'aria-label': 'Runs per page', onchange: ev => go(href({size: ev.target.value, token: ''}))},
      [...new Set([...PAGE_SIZES, size])].sort((a, b) => a - b)
        .map(n => h('option', {value: String(n), selected: n === size}, String(n))));
    return h('div', {class: 'pager'}, 'Rows per page ', sizeSelect, h('span', {class: 'spacer'}),
      token ? h('button', {type: 'button', onclick: () => {
        pageStack.tokens.pop();
        go(href({token: prev === null ? '' : prev}));
      }}, prev === null ? '« First page' : '‹ Previous') : null,
      h('button', {type: 'button', disabled: !next, onclick: () => {
        pageStack.tokens.push(token);
        go(href({token: next}));
      }}, 'Next ›'));
  }

  // ---------------------------------------------------------------- one run

  async function runPage(view, id) {
    const {run} = await get('runs/get', {run_id: id, run_uuid: id});
    const info = run.info || {};
    const data = run.data || {};
    const name = runName(run);
    document.title = `${name} · Slipway`;
    let expName = info.experiment_id;
    try {
      const e = await get('experiments/get', {experiment_id: info.experiment_id});
      expName = (e.experiment && e.experiment.name) || expName;
    } catch (_) { /* the run page still works without the experiment's name */ }
    view.appendChild(crumbs(['Experiments', '#/'], [expName, experimentHref(info.experiment_id)], [name]));
    view.appendChild(h('h1', {id: 'run-name'}, name, ' ', badge(info.status || 'UNKNOWN')));
    view.appendChild(h('div', {class: 'subtitle'},
      h('span', null, 'Run ID ', h('b', {class: 'mono'}, runId(run))),
      h('span', null, 'Started ', h('b', null, fmtTime(info.start_time))),
      info.end_time ? h('span', null, 'Duration ', h('b', null, fmtDuration(info.start_time, info.end_time))) : null,
      info.user_id ? h('span', null, 'User ', h('b', null, info.user_id)) : null,
      tagValue(run, 'mlflow.source.name') ? h('span', null, 'Source ', h('b', {class: 'mono'}, tagValue(run, 'mlflow.source.name'))) : null,
      info.lifecycle_stage === 'deleted' ? badge('deleted', 'FAILED') : null));

    const params = (data.params || []).slice().sort(byKey);
    const metrics = (data.metrics || []).slice().sort(byKey);
    view.appendChild(h('div', {class: 'grid2'},
      section('Parameters', params.length, kvTable(params.map(p => ({key: p.key, value: p.value})), {empty: 'No parameters logged.'})),
      section('Metrics', metrics.length, kvTable(metrics.map(m => ({key: m.key, num: true,
        value: [fmtNum(m.value), m.step ? h('span', {class: 'muted'}, ` (step ${m.step})`) : null]})), {empty: 'No metrics logged.'}))));

    const datasets = (run.inputs && run.inputs.dataset_inputs) || [];
    if (datasets.length) {
      view.appendChild(section('Datasets', datasets.length, kvTable(datasets.map(i => {
        const d = i.dataset || {};
        const context = inputContext(i);
        return {key: d.name || '', value: [h('span', {class: 'mono'}, d.digest || ''),
          context ? h('span', {class: 'muted'}, ` · ${context}`) : null,
          d.source_type ? h('span', {class: 'muted'}, ` · ${d.source_type}`) : null]};
      }), {empty: 'No datasets logged.'})));
    }

    if (metrics.length) {
      const charts = h('div', {class: 'charts', id: 'metric-charts'});
      const shown = metrics.slice(0, MAX_CHARTS);
      view.appendChild(section('Metric charts', null, charts,
        metrics.length > shown.length ? h('p', {class: 'muted'}, `Showing the first ${shown.length} of ${metrics.length} metrics.`) : null));
      const results = await Promise.allSettled(shown.map(m => metricHistory(id, m.key)));
      shown.forEach((m, i) => {
        const r = results[i];
        charts.appendChild(h('div', {class: 'chart-card', 'data-metric': m.key}, h('h3', null, m.key),
          r.status === 'fulfilled' ?
            lineChart([{name: m.key, points: historyPoints(r.value)}], {label: `${m.key} by step`}) :
            errorBox(r.reason)));
      });
    }

    const tags = (data.tags || []).slice().sort((a, b) => {
      const sa = a.key.startsWith('mlflow.');
      const sb = b.key.startsWith('mlflow.');
      return sa === sb ? byKey(a, b) : sa ? 1 : -1;
    });
    view.appendChild(section('Tags', tags.length, kvTable(tags.map(t => ({key: t.key, value: t.value,
      cls: t.key.startsWith('mlflow.') ? 'system' : null})), {empty: 'No tags.'})));
    view.appendChild(await artifactsSection(info.artifact_uri || ''));
  }

  /** A dataset input's `mlflow.data.context` tag (`training`, ...), if it has one. */
  function inputContext(input) {
    return ((input.tags || []).find(t => t.key === 'mlflow.data.context') || {}).value;
  }

  /** A run's dataset inputs in one line (`name (context)`, ...), or null when it has none. */
  function datasetsLine(run) {
    const inputs = (run && run.inputs && run.inputs.dataset_inputs) || [];
    if (!inputs.length) return null;
    return h('div', {class: 'muted small datasets'}, 'data: ', inputs.map(i => {
      const context = inputContext(i);
      return `${(i.dataset || {}).name || ''}${context ? ` (${context})` : ''}`;
    }).join(', '));
  }

  /** `mlflow-artifacts:/6/<run>/artifacts` → `6/<run>/artifacts`; null when not proxied. */
  function proxiedRoot(uri) {
    const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
    return m ? m[1].replace(/\/+$/, '') : null;
  }

  function artifactHref(path) {
    return `${ARTIFACTS}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  async function artifactsSection(uri) {
    const root = proxiedRoot(uri);
    if (root === null) {
      return section('Artifacts', null, h('p', {class: 'muted'}, 'Stored at ', h('code', null, uri || '(no location)'),
        ', which this server does not proxy.'));
    }
    const tree = await artifactList(root);
    return section('Artifacts', null, h('div', {class: 'muted'}, h('code', null, uri)), tree);
  }

  async function artifactList(dir) {
    let files;
    try {
      files = (await get(ARTIFACTS, {path: dir})).files || [];
    } catch (err) {
      return errorBox(err, 'Could not list artifacts:');
    }
    if (!files.length) return h('p', {class: 'empty'}, 'No artifacts.');
    files.sort((a, b) => (b.is_dir - a.is_dir) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return h('ul', {class: 'tree', id: dir.split('/').length <= 3 ? 'artifacts' : null}, files.map(f => {
      const base = f.path.split('/').pop();
      const full = `${dir}/${base}`;
      if (!f.is_dir) {
        return h('li', null, h('span', {class: 'icon'}, '📄'),
          h('a', {href: artifactHref(full), download: base, class: 'artifact'}, base),
          h('span', {class: 'size'}, fmtBytes(f.file_size || 0)));
      }
      const li = h('li', null);
      let open = null;
      const icon = h('span', {class: 'icon'}, '▸');
      li.appendChild(h('button', {type: 'button', class: 'dir', onclick: async () => {
        if (open) { open.remove(); open = null; icon.textContent = '▸'; return; }
        icon.textContent = '▾';
        open = await artifactList(full);
        li.appendChild(open);
      }}, icon, base + '/'));
      return li;
    }));
  }

  // ---------------------------------------------------------------- compare runs

  async function comparePage(view, params) {
    const ids = [...new Set((params.get('runs') || '').split(',').map(x => x.trim()).filter(Boolean))];
    document.title = 'Compare runs · Slipway';
    view.appendChild(crumbs(['Experiments', '#/'], ['Compare runs']));
    view.appendChild(h('h1', null, `Comparing ${ids.length} runs`));
    if (ids.length < 1) {
      view.appendChild(h('div', {class: 'notice info'}, 'Select runs in an experiment’s runs table, then press Compare.'));
      return;
    }
    const results = await Promise.allSettled(ids.map(id => get('runs/get', {run_id: id, run_uuid: id})));
    const runs = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') runs.push(r.value.run);
      else view.appendChild(errorBox(r.reason, `Run ${ids[i]}:`));
    });
    if (!runs.length) return;

    const columns = runs.map((run, i) => h('th', null, h('span', {class: ['swatch', `c${i % PALETTE.length}`]}),
      ' ', h('a', {href: runHref(runId(run))}, runName(run))));
    const row = (label, values, opts) => {
      const same = values.every(v => v === values[0]);
      const cls = !opts.diff ? 'info' : same ? 'same' : 'diff';
      return h('tr', {class: cls}, h('td', {class: 'key'}, label),
        values.map(v => h('td', {class: [opts.num && 'num', 'val']}, v === undefined ? '—' : opts.fmt ? opts.fmt(v) : v)));
    };
    const paramKeys = [...new Set(runs.flatMap(r => ((r.data && r.data.params) || []).map(p => p.key)))].sort();
    const metricKeys = [...new Set(runs.flatMap(r => ((r.data && r.data.metrics) || []).map(p => p.key)))].sort();
    const value = (run, kind, key) => {
      const e = ((run.data && run.data[kind]) || []).find(x => x.key === key);
      return e ? e.value : undefined;
    };
    const groupRow = label => h('tr', {class: 'group-row'}, h('th', {colspan: runs.length + 1}, label));
    const table = h('table', {class: 'data compare', id: 'compare-table'},
      h('thead', null, h('tr', null, h('th', null, 'Run'), columns)),
      h('tbody', null,
        row('Run ID', runs.map(runId), {fmt: v => h('span', {class: 'mono'}, v)}),
        row('Status', runs.map(r => (r.info || {}).status), {fmt: v => badge(v)}),
        row('Started', runs.map(r => fmtTime((r.info || {}).start_time)), {}),
        row('Duration', runs.map(r => fmtDuration((r.info || {}).start_time, (r.info || {}).end_time)), {}),
        paramKeys.length ? groupRow('Parameters') : null,
        paramKeys.map(k => row(k, runs.map(r => value(r, 'params', k)), {diff: true, fmt: v => h('span', {class: 'mono'}, v)})),
        metricKeys.length ? groupRow('Metrics') : null,
        metricKeys.map(k => row(k, runs.map(r => value(r, 'metrics', k)), {diff: true, num: true, fmt: fmtNum}))));
    const onlyDiff = h('input', {type: 'checkbox', onchange: ev => table.classList.toggle('only-diff', ev.target.checked)});
    view.appendChild(section('Parameters and metrics', null,
      h('div', {class: 'toolbar'}, h('label', null, onlyDiff, ' Only rows that differ'),
        h('span', {class: 'muted'}, 'Highlighted rows differ between runs.')),
      h('div', {class: 'table-wrap'}, table)));

    if (!metricKeys.length) return;
    const chosen = metricKeys.includes(params.get('metric')) ? params.get('metric') : metricKeys[0];
    const select = h('select', {'aria-label': 'Metric', onchange: ev =>
      go(hashFor(['compare'], {runs: ids.join(','), metric: ev.target.value}))},
    metricKeys.map(k => h('option', {value: k, selected: k === chosen}, k)));
    const histories = await Promise.allSettled(runs.map(r =>
      value(r, 'metrics', chosen) === undefined ? Promise.resolve([]) : metricHistory(runId(r), chosen)));
    const series = runs.map((r, i) => ({name: runName(r), color: i,
      points: histories[i].status === 'fulfilled' ? historyPoints(histories[i].value) : []}));
    view.appendChild(section('Metric chart', null, h('div', {class: 'toolbar'}, 'Metric ', select),
      legend(runs.map(runName)),
      h('div', {class: 'chart-card wide', id: 'compare-chart'}, lineChart(series, {width: 900, height: 320, label: `${chosen} by step`})),
      histories.filter(x => x.status === 'rejected').map(x => errorBox(x.reason))));
  }

  // ---------------------------------------------------------------- registry

  function registryUnavailable(err) {
    return h('div', {class: 'notice info', id: 'registry-unavailable'},
      h('h2', null, 'Model registry not available'),
      h('p', null, 'This server does not answer the MLflow model registry endpoints (',
        h('code', null, err.message), '). Runs and experiments are still available under Experiments.'));
  }

  function stageBadge(stage) {
    return badge(stage || 'None');
  }

  async function modelsPage(view, params) {
    document.title = 'Models · Slipway';
    view.appendChild(h('h1', null, 'Registered models'));
    const token = params.get('token') || undefined;
    let r;
    try {
      r = await get('registered-models/search', {max_results: 100, page_token: token});
    } catch (err) {
      if (isMissingEndpoint(err)) { view.appendChild(registryUnavailable(err)); return; }
      throw err;
    }
    const models = r.registered_models || [];
    const body = models.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'models'},
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Latest versions'), h('th', null, 'Aliases'),
        h('th', null, 'Description'), h('th', null, 'Last modified'), h('th', null, 'Tags'))),
      h('tbody', null, models.map(m => h('tr', null,
        h('td', {class: 'nowrap'}, h('a', {href: modelHref(m.name)}, m.name)),
        h('td', null, (m.latest_versions || []).map(v => h('span', {class: 'tag'}, `v${v.version} `, stageBadge(v.current_stage)))),
        h('td', null, (m.aliases || []).map(a => [badge(`@${a.alias}`, 'alias'), ' '])),
        h('td', null, m.description || ''),
        h('td', {class: 'nowrap'}, fmtTime(m.last_updated_timestamp)),
        h('td', null, tagsList(m.tags))))))) :
      h('p', {class: 'empty'}, 'No registered models yet.');
    view.appendChild(section('All models', models.length, body,
      r.next_page_token ? h('div', {class: 'pager'}, h('span', {class: 'spacer'}),
        h('a', {class: 'button', href: hashFor(['models'], {token: r.next_page_token})}, 'Next ›')) : null));
  }

  function quoteString(v) {
    return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  }

  async function allVersions(name) {
    const out = [];
    let token;
    for (let page = 0; page < 20; page++) {
      const r = await get('model-versions/search', {filter: `name = ${quoteString(name)}`, max_results: 1000, page_token: token});
      out.push(...(r.model_versions || []));
      token = r.next_page_token;
      if (!token) break;
    }
    return out.filter(v => v.name === name).sort((a, b) => Number(b.version) - Number(a.version));
  }

  async function modelPage(view, name) {
    document.title = `${name} · Slipway`;
    view.appendChild(crumbs(['Models', '#/models'], [name]));
    let model;
    let versions;
    try {
      [model, versions] = await Promise.all([
        get('registered-models/get', {name}).then(r => r.registered_model || {}),
        allVersions(name),
      ]);
    } catch (err) {
      view.appendChild(h('h1', null, name));
      if (isMissingEndpoint(err)) { view.appendChild(registryUnavailable(err)); return; }
      throw err;
    }
    view.appendChild(h('h1', {id: 'model-name'}, model.name || name));
    view.appendChild(h('div', {class: 'subtitle'},
      h('span', null, 'Created ', h('b', null, fmtTime(model.creation_timestamp))),
      h('span', null, 'Last modified ', h('b', null, fmtTime(model.last_updated_timestamp))),
      h('span', null, 'Versions ', h('b', null, String(versions.length)))));
    if (model.description) view.appendChild(section('Description', null, h('p', null, model.description)));

    // Aliases come on the model as [{alias, version}] and on each version as [alias].
    const aliasesOf = new Map();
    for (const a of model.aliases || []) {
      if (!aliasesOf.has(String(a.version))) aliasesOf.set(String(a.version), new Set());
      aliasesOf.get(String(a.version)).add(a.alias);
    }
    for (const v of versions) {
      for (const a of v.aliases || []) {
        if (!aliasesOf.has(String(v.version))) aliasesOf.set(String(v.version), new Set());
        aliasesOf.get(String(v.version)).add(a);
      }
    }

    // Lineage: the run each version came from, and the data that run consumed.
    const runIds = [...new Set(versions.map(v => v.run_id).filter(Boolean))];
    const runResults = await Promise.allSettled(runIds.map(id => get('runs/get', {run_id: id, run_uuid: id})));
    const runsById = new Map();
    runIds.forEach((id, i) => { if (runResults[i].status === 'fulfilled') runsById.set(id, runResults[i].value.run); });

    const versionRows = versions.map(v => {
      const run = v.run_id ? runsById.get(v.run_id) : null;
      const lineage = h('div', null,
        !v.run_id ? h('span', {class: 'muted'}, 'no source run') :
          [h('a', {href: runHref(v.run_id), class: 'lineage'}, run ? runName(run) : v.run_id),
            run ? h('span', {class: 'muted mono'}, ' ', v.run_id) : h('span', {class: 'muted'}, ' (run not found)')],
        v.source ? h('div', {class: 'muted mono small'}, v.source) : null,
        datasetsLine(run));
      return h('tr', {'data-version': v.version},
        h('td', null, h('b', null, `v${v.version}`)),
        h('td', null, stageBadge(v.current_stage)),
        h('td', null, [...(aliasesOf.get(String(v.version)) || [])].sort().map(a => [badge(`@${a}`, 'alias'), ' '])),
        h('td', null, badge(v.status || 'READY')),
        h('td', null, lineage),
        h('td', {class: 'nowrap'}, fmtTime(v.creation_timestamp)),
        h('td', null, tagsList(v.tags)),
        h('td', null, v.description || ''));
    });
    view.appendChild(section('Versions', versions.length, versions.length ?
      h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'versions'},
        h('thead', null, h('tr', null, ['Version', 'Stage', 'Aliases', 'Status', 'Source run (lineage)', 'Created', 'Tags', 'Description']
          .map(t => h('th', null, t)))),
        h('tbody', null, versionRows))) :
      h('p', {class: 'empty'}, 'No versions registered yet.')));

    const aliasRows = [...aliasesOf.entries()].flatMap(([ver, set]) => [...set].map(a => ({key: `@${a}`, value: `v${ver}`})))
      .sort(byKey);
    view.appendChild(h('div', {class: 'grid2'},
      section('Aliases', aliasRows.length, kvTable(aliasRows, {empty: 'No aliases.'})),
      section('Tags', (model.tags || []).length, kvTable((model.tags || []).slice().sort(byKey)
        .map(t => ({key: t.key, value: t.value})), {empty: 'No tags.'}))));
  }

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', route);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', route);
  else route();
})();
