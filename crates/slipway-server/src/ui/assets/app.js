// Slipway web UI. A hash-routed single page over the MLflow REST API of this server.
//
// Safety rule: user data (names, params, tags, descriptions) only ever reaches the page as
// text nodes or attribute values set through the DOM; nothing is parsed as HTML.
'use strict';

(() => {
  const API = '/api/2.0/mlflow';
  const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
  const DEPLOYMENTS = '/api/2.0/slipway/deployments';
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
  const patch = (path, body) => call('PATCH', path, body);
  const del = (path, body) => call('DELETE', path, body);

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
  const versionHref = (name, version) => hashFor(['models', name, 'versions', String(version)]);
  const deploymentHref = name => hashFor(['deployments', name]);

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
        await runPage(view, id, params);
      } else if (head === 'experiments' && parts.length >= 4 && parts[2] === 'runs') {
        // MLflow's run URL, as the `mlflow` client prints it: #/experiments/N/runs/ID, with
        // an optional tail (/artifacts/PATH, /model-metrics, ...) that opens the same page.
        setActiveNav('experiments');
        if (parts[4] === 'artifacts' && parts.length > 5 && !params.has('artifact')) {
          params.set('artifact', parts.slice(5).join('/'));
        }
        await runPage(view, parts[3], params);
      } else if (head === 'compare') {
        setActiveNav('experiments');
        await comparePage(view, params);
      } else if (head === 'models' && parts.length === 1) {
        setActiveNav('models');
        await modelsPage(view, params);
      } else if (head === 'models' && parts.length === 2) {
        setActiveNav('models');
        await modelPage(view, id);
      } else if (head === 'models' && parts.length === 4 && parts[2] === 'versions') {
        // MLflow's model version URL: #/models/NAME/versions/V.
        setActiveNav('models');
        await versionPage(view, id, parts[3]);
      } else if (head === 'deployments' && parts.length === 1) {
        setActiveNav('deployments');
        await deploymentsPage(view);
      } else if (head === 'deployments' && parts.length === 2) {
        setActiveNav('deployments');
        await deploymentPage(view, id);
      } else if (head === 'monitoring' && parts.length <= 2) {
        setActiveNav('monitoring');
        await monitoringPage(view, id);
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
   * An SVG line chart of `series` ([{name, points: [[x, value], ...]}]); `opts.xLabel` names
   * the x axis (step by default).
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
    const xLabel = (opts && opts.xLabel) || 'step';
    grid.appendChild(s('text', {x: m.left + pw / 2, y: H - 4, 'text-anchor': 'middle', class: 'muted x-label'}, xLabel));
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
            s('title', null, `${sr.name ? sr.name + ' · ' : ''}${xLabel} ${fmtNum(p[0])}: ${fmtNum(p[1])}`)));
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

  /** Points against wall time in seconds since `t0` (ms), as MLflow's "relative time" axis. */
  function timePoints(history, t0) {
    return history
      .map(m => [(Number(m.timestamp || 0) - t0) / 1000, Number(m.value)])
      .sort((a, b) => a[0] - b[0]);
  }

  /** Runs `fn` over `items` with at most `limit` calls in flight; settles like allSettled. */
  async function settledPool(items, limit, fn) {
    const out = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        try { out[i] = {status: 'fulfilled', value: await fn(items[i])}; } catch (e) { out[i] = {status: 'rejected', reason: e}; }
      }
    };
    await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
    return out;
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
      box.appendChild(runsTable(expId, runs, order, href, selected, updateCompare));
    }
    box.appendChild(pager(size, token, next, href));
  }

  /**
   * Metric columns in reading order: held-out evaluation first (`holdout.*`, what a model is
   * judged on), then by nesting (`rows` before `cv.gbdt.roc_auc`), then by name.
   */
  function metricOrder(a, b) {
    const rank = k => (k.startsWith('holdout.') ? 0 : 1);
    const depth = k => k.split('.').length;
    return rank(a) - rank(b) || depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
  }

  /** The columns a user chose per experiment, kept in localStorage: {"metrics.auc": false, ...}. */
  const columnChoices = {
    key: expId => `slipway.columns.${expId}`,
    load(expId) {
      try {
        const v = JSON.parse(window.localStorage.getItem(this.key(expId)) || '{}');
        return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
      } catch (_) {
        return {};
      }
    },
    save(expId, choices) {
      try { window.localStorage.setItem(this.key(expId), JSON.stringify(choices)); } catch (_) { /* private mode */ }
    },
  };

  // Shown unless the user hid them: metrics and parameters; tags only when chosen.
  const DEFAULT_SHOWN = {metrics: true, params: true, tags: false};

  function runsTable(expId, runs, order, href, selected, onSelect) {
    const keysOf = kind => [...new Set(runs.flatMap(r => ((r.data && r.data[kind]) || []).map(p => p.key)))];
    const all = {
      metrics: keysOf('metrics').sort(metricOrder),
      params: keysOf('params').sort(),
      tags: keysOf('tags').filter(k => !k.startsWith('mlflow.')).sort(),
    };
    const choices = columnChoices.load(expId);
    const shown = (kind, key) => {
      const c = choices[`${kind}.${key}`];
      return typeof c === 'boolean' ? c : DEFAULT_SHOWN[kind];
    };
    const wrap = h('div', {class: 'runs-table'});
    const picker = h('details', {class: 'column-picker', id: 'column-picker'});
    const summary = h('summary', null);
    const render = () => {
      const cols = {};
      for (const kind of Object.keys(all)) cols[kind] = all[kind].filter(k => shown(kind, k));
      const total = all.metrics.length + all.params.length + all.tags.length;
      const count = cols.metrics.length + cols.params.length + cols.tags.length;
      summary.textContent = `Columns (${count} of ${total})`;
      const table = buildRunsTable(runs, order, href, selected, onSelect, cols);
      const old = wrap.querySelector('.table-wrap');
      if (old) old.replaceWith(table); else wrap.appendChild(table);
    };
    const choose = (kind, keys, value) => {
      for (const k of keys) choices[`${kind}.${k}`] = value;
      columnChoices.save(expId, choices);
      for (const box of picker.querySelectorAll('input[type=checkbox]')) {
        box.checked = shown(box.dataset.kind, box.dataset.key);
      }
      render();
    };
    const labels = {metrics: 'Metrics', params: 'Parameters', tags: 'Tags'};
    append(picker, [summary, h('div', {class: 'picker-body'}, Object.keys(all).filter(kind => all[kind].length).map(kind =>
      h('fieldset', {class: kind, 'data-kind': kind},
        h('legend', null, labels[kind],
          h('button', {type: 'button', class: 'link', onclick: () => choose(kind, all[kind], true)}, 'all'),
          h('button', {type: 'button', class: 'link', onclick: () => choose(kind, all[kind], false)}, 'none')),
        all[kind].map(k => h('label', {class: 'col-choice'},
          h('input', {type: 'checkbox', 'data-kind': kind, 'data-key': k, checked: shown(kind, k),
            onchange: ev => choose(kind, [k], ev.target.checked)}), k)))))]);
    wrap.appendChild(h('div', {class: 'toolbar'}, picker,
      h('span', {class: 'muted small-note'}, 'Choose the metric, parameter and tag columns; the choice is kept in this browser.')));
    render();
    return wrap;
  }

  function buildRunsTable(runs, order, href, selected, onSelect, cols) {
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
      cols.metrics.length ? h('th', {class: 'group metrics', colspan: cols.metrics.length}, 'Metrics') : null,
      cols.params.length ? h('th', {class: 'group params', colspan: cols.params.length}, 'Parameters') : null,
      cols.tags.length ? h('th', {class: 'group tags', colspan: cols.tags.length}, 'Tags') : null);
    const header = h('tr', null, fixed,
      cols.metrics.map(k => sortHeader(k, `metrics.${quoteKey(k)}`, 'num')),
      cols.params.map(k => sortHeader(k, `params.${quoteKey(k)}`)),
      cols.tags.map(k => sortHeader(k, `tags.${quoteKey(k)}`)));
    const rows = runs.map(run => {
      const id = runId(run);
      const info = run.info || {};
      const data = run.data || {};
      const params = new Map((data.params || []).map(p => [p.key, p.value]));
      const metrics = new Map((data.metrics || []).map(m => [m.key, m.value]));
      const tags = new Map((data.tags || []).map(t => [t.key, t.value]));
      const box = h('input', {type: 'checkbox', 'aria-label': `Select ${runName(run)}`, checked: selected.has(id),
        onchange: ev => { if (ev.target.checked) selected.add(id); else selected.delete(id); onSelect(); }});
      return h('tr', {'data-run-id': id},
        h('td', {class: 'sel'}, box),
        h('td', null, h('a', {href: runHref(id), class: 'run-link'}, runName(run))),
        h('td', null, badge(info.status || 'UNKNOWN')),
        h('td', {class: 'nowrap'}, fmtTime(info.start_time)),
        h('td', null, fmtDuration(info.start_time, info.end_time)),
        h('td', null, info.user_id || ''),
        cols.metrics.map(k => h('td', {class: 'num', 'data-col': `metrics.${k}`, title: metrics.has(k) ? String(metrics.get(k)) : ''},
          metrics.has(k) ? fmtNum(metrics.get(k)) : '')),
        cols.params.map(k => h('td', {class: 'mono', 'data-col': `params.${k}`}, params.has(k) ? params.get(k) : '')),
        cols.tags.map(k => h('td', {'data-col': `tags.${k}`}, tags.has(k) ? tags.get(k) : '')));
    });
    return h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'runs'},
      h('thead', null, groups, header), h('tbody', null, rows)));
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

  const NOTE_TAG = 'mlflow.note.content';

  /**
   * Replaces the current URL's query without a reload (hashchange does not fire), so a view's
   * own state (chosen metrics, previewed artifact) survives a reload and can be linked.
   */
  function replaceParams(update) {
    const {parts, params} = parseHash();
    const next = {};
    for (const [k, v] of params.entries()) next[k] = v;
    Object.assign(next, update);
    history.replaceState(null, '', hashFor(parts, next));
  }

  /**
   * An editable text block: shows `value` (or `empty`), and an Edit button that turns it
   * into a textarea whose Save calls `save(text)`; the server's error stays on screen.
   */
  function editableText(id, value, empty, save) {
    const box = h('div', {class: 'editable', id});
    const show = () => {
      clear(box);
      append(box, [value ? h('p', {class: 'text'}, value) : h('p', {class: 'empty'}, empty),
        h('button', {type: 'button', class: 'edit', onclick: edit}, 'Edit')]);
    };
    const edit = () => {
      clear(box);
      const area = h('textarea', {rows: 4, 'aria-label': 'Description'});
      area.value = value || '';
      const status = h('div', {class: 'form-status'});
      const form = h('form', {class: 'edit-form', onsubmit: async ev => {
        ev.preventDefault();
        clear(status);
        try {
          await save(area.value);
          route();
        } catch (err) {
          status.appendChild(errorBox(err, 'Not saved:'));
        }
      }}, area, h('div', {class: 'buttons'}, h('button', {type: 'submit', class: 'primary'}, 'Save'),
        h('button', {type: 'button', onclick: show}, 'Cancel')), status);
      box.appendChild(form);
      area.focus();
    };
    show();
    return box;
  }

  /**
   * A tag table with a form that sets a tag and a delete button per tag; `system` tags
   * (`mlflow.*`) are shown but not offered for deletion. Saving re-renders the page.
   */
  function tagEditor(id, tags, setTag, deleteTag) {
    const status = h('div', {class: 'form-status'});
    const act = async fn => {
      clear(status);
      try {
        await fn();
        route();
      } catch (err) {
        status.appendChild(errorBox(err, 'Not saved:'));
      }
    };
    const rows = tags.map(t => {
      const system = t.key.startsWith('mlflow.');
      return h('tr', {class: system ? 'system' : null, 'data-tag': t.key},
        h('td', {class: 'key'}, t.key), h('td', {class: 'val'}, t.value),
        h('td', {class: 'actions'}, system ? null : h('button', {type: 'button', class: 'link delete-tag',
          'aria-label': `Delete tag ${t.key}`, onclick: () => act(() => deleteTag(t.key))}, 'delete')));
    });
    const key = h('input', {type: 'text', name: 'tag-key', placeholder: 'key', 'aria-label': 'Tag key'});
    const value = h('input', {type: 'text', name: 'tag-value', placeholder: 'value', 'aria-label': 'Tag value'});
    const form = h('form', {class: 'tag-form', onsubmit: ev => {
      ev.preventDefault();
      act(() => setTag(key.value.trim(), value.value));
    }}, key, value, h('button', {type: 'submit', class: 'primary'}, 'Set tag'));
    return h('div', {class: 'tag-editor', id},
      rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'data kv tags'}, h('tbody', null, rows))) :
        h('p', {class: 'empty'}, 'No tags.'),
      form, status);
  }

  async function runPage(view, id, params) {
    params = params || new URLSearchParams();
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

    // The description is MLflow's `mlflow.note.content` tag.
    view.appendChild(section('Description', null, editableText('run-description', tagValue(run, NOTE_TAG), 'No description.',
      text => post('runs/set-tag', {run_id: id, run_uuid: id, key: NOTE_TAG, value: text}))));

    const params_ = (data.params || []).slice().sort(byKey);
    const metrics = (data.metrics || []).slice().sort((a, b) => metricOrder(a.key, b.key));

    // One history per metric tells which have more than one point: those get charts.
    const histories = new Map();
    const results = await settledPool(metrics, 8, m => metricHistory(id, m.key));
    metrics.forEach((m, i) => histories.set(m.key, results[i]));
    const stepped = metrics.filter(m => {
      const r = histories.get(m.key);
      return r.status === 'fulfilled' ? r.value.length > 1 : Number(m.step || 0) > 0;
    });
    const steppedKeys = new Set(stepped.map(m => m.key));

    view.appendChild(h('div', {class: 'grid2'},
      section('Parameters', params_.length, kvTable(params_.map(p => ({key: p.key, value: p.value})), {empty: 'No parameters logged.'})),
      section('Metrics', metrics.length, metrics.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'data kv', id: 'metrics-table'},
        h('thead', null, h('tr', null, h('th', null, 'Metric'), h('th', {class: 'num'}, 'Value'), h('th', {class: 'num'}, 'Step'))),
        h('tbody', null, metrics.map(m => h('tr', {'data-metric-row': m.key},
          h('td', {class: 'key'}, m.key, steppedKeys.has(m.key) ? h('span', {class: 'muted'}, ' · charted') : null),
          h('td', {class: 'val num', title: String(m.value)}, fmtNum(m.value)),
          h('td', {class: 'num muted'}, String(m.step || 0))))))) :
        h('p', {class: 'empty'}, 'No metrics logged.'))));

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

    if (metrics.length) view.appendChild(metricCharts(id, info, stepped, histories, params));

    const tags = (data.tags || []).filter(t => t.key !== NOTE_TAG).sort((a, b) => {
      const sa = a.key.startsWith('mlflow.');
      const sb = b.key.startsWith('mlflow.');
      return sa === sb ? byKey(a, b) : sa ? 1 : -1;
    });
    view.appendChild(section('Tags', tags.length, tagEditor('run-tags', tags,
      (key, value) => post('runs/set-tag', {run_id: id, run_uuid: id, key, value}),
      key => post('runs/delete-tag', {run_id: id, run_uuid: id, key}))));
    const explained = await explanationsSection(id);
    if (explained) view.appendChild(explained);
    view.appendChild(await artifactsSection(info.artifact_uri || '', params));
  }

  const EXPLANATIONS_VIEW = '/ui/run-explanations';

  /**
   * The run's SHAP pictures (mean |SHAP|, beeswarm, waterfall) and fairness-by-group
   * sections, as its training report drew them; the server takes them from the run's
   * report.html and serves them sandboxed, so they are framed like an HTML artifact. Null
   * when the run recorded none (the server answers 404).
   */
  async function explanationsSection(runId) {
    const src = `${EXPLANATIONS_VIEW}/${encodeURIComponent(runId)}`;
    let ok = false;
    try { ok = (await fetch(src, {method: 'HEAD', credentials: 'same-origin'})).ok; } catch (_) { ok = false; }
    if (!ok) return null;
    return section('Explanations', null,
      h('p', {class: 'muted'}, 'SHAP values and fairness by group from the run\'s training report (report.html).'),
      h('iframe', {class: 'artifact-html explanations', id: 'explanations', sandbox: '', referrerpolicy: 'no-referrer',
        title: 'Explanations', src}));
  }

  /**
   * Charts of the metrics with more than one point (one each, up to MAX_CHARTS), and one
   * chart that overlays the metrics the user picks, against step or relative wall time.
   * The choice lives in the URL (`?overlay=a,b&x=time`).
   */
  function metricCharts(id, info, stepped, histories, params) {
    const box = section('Metric charts', stepped.length || null);
    if (!stepped.length) {
      box.appendChild(h('p', {class: 'muted', id: 'no-charts'},
        'Every metric of this run has a single value; they are listed under Metrics.'));
      return box;
    }
    const pointsOf = key => {
      const r = histories.get(key);
      return r && r.status === 'fulfilled' ? r.value : [];
    };
    const keys = stepped.map(m => m.key);
    const wanted = (params.get('overlay') || '').split(',').filter(k => keys.includes(k));
    const chosen = new Set(wanted.length ? wanted : keys.slice(0, 1));
    let axis = params.get('x') === 'time' ? 'time' : 'step';
    const overlay = h('div', {class: 'chart-card wide', id: 'overlay-chart'});
    const draw = changed => {
      const picked = keys.filter(k => chosen.has(k));
      let t0 = Number(info.start_time) || Infinity;
      for (const k of picked) for (const m of pointsOf(k)) t0 = Math.min(t0, Number(m.timestamp || 0));
      const series = picked.map(k => ({name: k, color: keys.indexOf(k),
        points: axis === 'time' ? timePoints(pointsOf(k), t0) : historyPoints(pointsOf(k))}));
      clear(overlay);
      append(overlay, [
        h('div', {class: 'legend'}, picked.map(k =>
          h('span', null, h('span', {class: ['swatch', `c${keys.indexOf(k) % PALETTE.length}`]}), k))),
        picked.length ? lineChart(series, {width: 900, height: 320, xLabel: axis === 'time' ? 'relative time (s)' : 'step',
          label: `${picked.join(', ')} by ${axis}`}) : h('p', {class: 'empty'}, 'Pick metrics to draw.')]);
      // The choice goes into the URL, so a reload or a shared link draws the same chart.
      if (changed) replaceParams({overlay: picked.join(','), x: axis === 'time' ? 'time' : ''});
    };
    const xSelect = h('select', {'aria-label': 'X axis', id: 'overlay-x', onchange: ev => { axis = ev.target.value; draw(true); }},
      h('option', {value: 'step', selected: axis === 'step'}, 'Step'),
      h('option', {value: 'time', selected: axis === 'time'}, 'Relative time'));
    const choices = h('div', {class: 'metric-choices', id: 'overlay-metrics'}, keys.map(k =>
      h('label', null, h('input', {type: 'checkbox', value: k, checked: chosen.has(k), onchange: ev => {
        if (ev.target.checked) chosen.add(k); else chosen.delete(k);
        draw(true);
      }}), k)));
    append(box, [
      h('h3', null, 'Overlay'),
      h('div', {class: 'toolbar'}, 'X axis ', xSelect),
      choices, overlay]);
    draw(false);

    const charts = h('div', {class: 'charts', id: 'metric-charts'});
    const shown = stepped.slice(0, MAX_CHARTS);
    for (const m of shown) {
      const r = histories.get(m.key);
      charts.appendChild(h('div', {class: 'chart-card', 'data-metric': m.key}, h('h3', null, m.key),
        r.status === 'fulfilled' ?
          lineChart([{name: m.key, points: historyPoints(r.value)}], {label: `${m.key} by step`}) :
          errorBox(r.reason)));
    }
    append(box, [h('h3', null, 'Each metric'), charts,
      stepped.length > shown.length ? h('p', {class: 'muted'}, `Showing the first ${shown.length} of ${stepped.length} charts; overlay picks any of them.`) : null]);
    return box;
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

  const HTML_VIEW = '/ui/artifact-html';
  // Larger files are offered for download only.
  const PREVIEW_TEXT_BYTES = 1024 * 1024;
  const PREVIEW_FRAME_BYTES = 8 * 1024 * 1024;
  const TEXT_EXTENSIONS = new Set(['txt', 'log', 'md', 'yaml', 'yml', 'csv', 'tsv', 'py', 'toml', 'ini', 'cfg', 'sql', 'r', 'sh', 'xml']);
  const TEXT_NAMES = new Set(['MLmodel', 'requirements.txt', 'LICENSE', 'README']);

  /** How an artifact is previewed: 'html', 'image', 'json', 'text', or null (download only). */
  function previewKind(path) {
    const base = path.split('/').pop();
    const dot = base.lastIndexOf('.');
    const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
    if (ext === 'html' || ext === 'htm') return 'html';
    if (['png', 'jpg', 'jpeg', 'gif', 'webp'].includes(ext)) return 'image';
    if (ext === 'json') return 'json';
    if (TEXT_EXTENSIONS.has(ext) || TEXT_NAMES.has(base)) return 'text';
    return null;
  }

  async function artifactsSection(uri, params) {
    const root = proxiedRoot(uri);
    if (root === null) {
      return section('Artifacts', null, h('p', {class: 'muted'}, 'Stored at ', h('code', null, uri || '(no location)'),
        ', which this server does not proxy.'));
    }
    const preview = h('div', {class: 'artifact-preview', id: 'artifact-preview'});
    const show = (rel, size) => {
      replaceParams({artifact: rel});
      renderPreview(preview, root, rel, size);
    };
    const tree = await artifactList(root, root, show);
    const box = section('Artifacts', null, h('div', {class: 'muted'}, h('code', null, uri)),
      h('div', {class: 'artifact-browser'}, h('div', {class: 'artifact-tree'}, tree), preview));
    const wanted = params && params.get('artifact');
    if (wanted) {
      // Opened from a link: the size comes from the listing of the file's folder.
      const parts = wanted.split('/').filter(Boolean);
      const dir = [root, ...parts.slice(0, -1)].join('/');
      let size;
      try {
        const files = (await get(ARTIFACTS, {path: dir})).files || [];
        const f = files.find(x => x.path.split('/').pop() === parts[parts.length - 1]);
        size = f ? Number(f.file_size || 0) : undefined;
      } catch (_) { /* the preview reports the missing file itself */ }
      await renderPreview(preview, root, parts.join('/'), size);
    } else {
      preview.appendChild(h('p', {class: 'muted'}, 'Pick a file to see it here.'));
    }
    return box;
  }

  /** Shows the artifact `rel` (relative to the run's root) inline, by its kind. */
  async function renderPreview(box, root, rel, size) {
    const full = `${root}/${rel}`;
    const kind = previewKind(rel);
    const href = artifactHref(full);
    clear(box);
    box.setAttribute('data-artifact', rel);
    box.setAttribute('data-kind', kind || 'none');
    box.appendChild(h('div', {class: 'preview-head'}, h('b', {class: 'mono'}, rel),
      size === undefined ? null : h('span', {class: 'size'}, fmtBytes(size)),
      h('a', {href, download: rel.split('/').pop(), class: 'button'}, 'Download')));
    const limit = kind === 'html' || kind === 'image' ? PREVIEW_FRAME_BYTES : PREVIEW_TEXT_BYTES;
    if (!kind) {
      box.appendChild(h('p', {class: 'muted'}, 'No preview for this kind of file.'));
      return;
    }
    if (size !== undefined && size > limit) {
      box.appendChild(h('p', {class: 'muted too-large'}, `Too large to show here (${fmtBytes(size)}, the limit is ${fmtBytes(limit)}).`));
      return;
    }
    if (kind === 'html') {
      // No script, no forms, no same-origin access: an empty sandbox, and the server sends
      // the page with its own sandboxing policy as well.
      box.appendChild(h('iframe', {class: 'artifact-html', sandbox: '', referrerpolicy: 'no-referrer', title: rel,
        src: `${HTML_VIEW}/${full.split('/').map(encodeURIComponent).join('/')}`}));
      return;
    }
    if (kind === 'image') {
      const img = h('img', {class: 'artifact-image', alt: rel, src: href});
      img.addEventListener('load', () => img.setAttribute('data-loaded', 'true'));
      img.addEventListener('error', () => img.replaceWith(h('p', {class: 'muted'}, 'This image could not be shown.')));
      box.appendChild(img);
      return;
    }
    let text;
    try {
      const resp = await fetch(href, {credentials: 'same-origin'});
      text = await resp.text();
      if (!resp.ok) {
        let body = {};
        try { body = JSON.parse(text); } catch (_) { body = {message: text}; }
        throw new ApiError(resp.status, body.error_code || `HTTP_${resp.status}`, body.message || resp.statusText);
      }
    } catch (err) {
      box.appendChild(errorBox(err instanceof ApiError ? err : new ApiError(0, 'NETWORK_ERROR', err.message)));
      return;
    }
    if (text.length > PREVIEW_TEXT_BYTES) {
      box.appendChild(h('p', {class: 'muted too-large'}, `Too large to show here (the limit is ${fmtBytes(PREVIEW_TEXT_BYTES)}).`));
      return;
    }
    if (kind === 'json') {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        box.appendChild(h('p', {class: 'muted'}, `Not valid JSON (${e.message}); shown as text.`));
      }
    }
    box.appendChild(h('pre', {class: ['artifact-text', kind]}, text));
  }

  async function artifactList(dir, root, show) {
    let files;
    try {
      files = (await get(ARTIFACTS, {path: dir})).files || [];
    } catch (err) {
      return errorBox(err, 'Could not list artifacts:');
    }
    if (!files.length) return h('p', {class: 'empty'}, 'No artifacts.');
    files.sort((a, b) => (b.is_dir - a.is_dir) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return h('ul', {class: 'tree', id: dir === root ? 'artifacts' : null}, files.map(f => {
      const base = f.path.split('/').pop();
      const full = `${dir}/${base}`;
      const rel = full.slice(root.length + 1);
      if (!f.is_dir) {
        return h('li', null, h('span', {class: 'icon'}, '📄'),
          h('button', {type: 'button', class: 'artifact', 'data-path': rel,
            onclick: () => show(rel, Number(f.file_size || 0))}, base),
          h('span', {class: 'size'}, fmtBytes(f.file_size || 0)),
          h('a', {href: artifactHref(full), download: base, class: 'download', title: `Download ${base}`, 'aria-label': `Download ${base}`}, '⤓'));
      }
      const li = h('li', null);
      let open = null;
      const icon = h('span', {class: 'icon'}, '▸');
      li.appendChild(h('button', {type: 'button', class: 'dir', onclick: async () => {
        if (open) { open.remove(); open = null; icon.textContent = '▸'; return; }
        icon.textContent = '▾';
        open = await artifactList(full, root, show);
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

  // ---------------------------------------------------------------- monitoring

  /**
   * The scheduled monitors of `slipway serve --monitors` (GET /monitors): one section per
   * monitor with its drifted-feature count and rows over its recent runs, the runs with
   * their status, and the newest stored drift report framed like an HTML artifact (its
   * histograms and per-chunk statistics). `only` shows one monitor.
   */
  async function monitoringPage(view, only) {
    document.title = 'Monitoring · Slipway';
    view.appendChild(h('h1', null, 'Monitoring'));
    let r;
    try {
      r = await get('/monitors');
    } catch (err) {
      if (isMissingEndpoint(err)) {
        view.appendChild(h('div', {class: 'notice info', id: 'monitoring-unavailable'},
          h('p', null, 'This server serves no models, so it runs no monitors. Start it with ',
            h('code', null, 'slipway serve --model NAME@ALIAS --monitors monitors.yaml'), '.')));
        return;
      }
      throw err;
    }
    const monitors = (r.monitors || []).filter(m => !only || m.name === only);
    if (!monitors.length) {
      view.appendChild(h('p', {class: 'empty', id: 'monitoring-empty'}, only ? `No monitor named ${only}.` :
        'No scheduled monitors. Give slipway serve --monitors monitors.yaml to compare the prediction log with the training profile on a schedule.'));
      return;
    }
    for (const m of monitors) view.appendChild(monitorSection(m));
  }

  function fmtSeconds(sec) {
    for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]]) {
      if (sec >= n && sec % n === 0) return `${sec / n}${unit}`;
    }
    return `${sec}s`;
  }

  function runStatusBadge(run) {
    if (run.status !== 'ok') return badge(run.status, run.status === 'failed' ? 'FAILED' : 'SCHEDULED');
    const multivariate = (run.multivariate || []).some(m => m.alert_chunks > 0);
    return run.drifted || multivariate ? badge('drift', 'FAILED') : badge('no drift', 'FINISHED');
  }

  /** A run's multivariate methods: `pca 1.234 (alert ≥ 1.2, 2/3 chunks)`. */
  function multivariateCell(run) {
    const list = run.multivariate || [];
    if (!list.length) return '';
    const num = v => v === null || v === undefined ? 'n/a' : Number(v).toPrecision(4);
    return list.map(m => {
      const bounds = [m.lower !== null && m.lower !== undefined ? `≤ ${num(m.lower)}` : null,
        m.upper !== null && m.upper !== undefined ? `≥ ${num(m.upper)}` : null].filter(Boolean).join(' or ');
      const text = `${m.method} ${num(m.value)}` + (bounds ? ` (alert ${bounds})` : '');
      return h('div', {class: m.alert_chunks > 0 ? 'multivariate alert' : 'multivariate'},
        m.alert_chunks > 0 ? h('strong', null, `${text} · ${m.alert_chunks}/${m.chunks} chunks alert`) : text);
    });
  }

  function monitorSection(m) {
    const runs = m.runs || [];
    const every = fmtSeconds(m.every_seconds);
    const win = fmtSeconds(m.window_seconds);
    const box = section(m.name, runs.length, h('p', {class: 'muted'},
      `Model ${m.model} · every ${every} · window ${win}` + (m.chunk_rows ? ` · chunks of ${m.chunk_rows} rows` : '') +
      (m.alerts ? ` · alerts ${m.alerts}` : '') + (m.reference ? ` · reference: ${m.reference}` : '') +
      (m.multivariate && m.multivariate.length ? ` · multivariate: ${m.multivariate.join(', ')}` : '')));
    box.id = `monitor-${m.name}`;
    const done = runs.filter(run => run.status === 'ok').slice().reverse();
    if (done.length > 1) {
      const t0 = Date.parse(done[0].started_at);
      const x = run => (Date.parse(run.started_at) - t0) / 60000;
      box.appendChild(h('div', {class: 'charts'},
        h('figure', null, h('figcaption', null, 'Drifted features per run'),
          lineChart([{name: 'drifted features', points: done.map(run => [x(run), run.drifted_features.length])}],
            {xLabel: 'minutes since the first run shown', label: 'drifted features per run'})),
        h('figure', null, h('figcaption', null, 'Rows compared per run'),
          lineChart([{name: 'rows', points: done.map(run => [x(run), run.rows])}],
            {xLabel: 'minutes since the first run shown', label: 'rows per run'}))));
    }
    if (!runs.length) {
      box.appendChild(h('p', {class: 'empty'}, 'No run yet.'));
      return box;
    }
    box.appendChild(h('div', {class: 'table-wrap'}, h('table', {class: 'data monitor-runs'},
      h('thead', null, h('tr', null, h('th', null, 'Started'), h('th', null, 'Version'), h('th', null, 'Status'),
        h('th', {class: 'num'}, 'Rows'), h('th', {class: 'num'}, 'Chunks'), h('th', null, 'Drifted features'),
        h('th', null, 'Multivariate'), h('th', {class: 'num'}, 'Alerts firing'), h('th', null, 'Report'))),
      h('tbody', null, runs.map(run => h('tr', null,
        h('td', {class: 'nowrap'}, fmtTime(Date.parse(run.started_at))),
        h('td', null, run.version ? `v${run.version}` : ''),
        h('td', null, runStatusBadge(run), run.message ? h('span', {class: 'muted'}, ' ' + run.message) : null),
        h('td', {class: 'num'}, String(run.rows)),
        h('td', {class: 'num'}, String(run.chunks)),
        h('td', null, (run.drifted_features || []).join(', ')),
        h('td', {class: 'monitor-multivariate'}, multivariateCell(run)),
        h('td', {class: 'num'}, run.alerts_firing === null || run.alerts_firing === undefined ? '' : String(run.alerts_firing)),
        h('td', null, run.report_html ? h('a', {href: `/ui/artifact-html/${run.report_html}`, target: '_blank', rel: 'noopener'}, 'HTML') : '')))))));
    const latest = runs.find(run => run.report_html);
    if (latest) {
      box.appendChild(h('iframe', {class: 'artifact-html monitor-report', sandbox: '', referrerpolicy: 'no-referrer',
        title: `Latest drift report of ${m.name}`, src: `/ui/artifact-html/${latest.report_html}`}));
    }
    return box;
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
    view.appendChild(section('Description', null, editableText('model-description', model.description, 'No description.',
      text => patch('registered-models/update', {name, description: text}))));

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
        h('td', null, h('a', {href: versionHref(name, v.version), class: 'version-link'}, h('b', null, `v${v.version}`))),
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
      section('Aliases', aliasRows.length, kvTable(aliasRows, {empty: 'No aliases.'}),
        versions.length ? aliasForm(name, versions.map(v => String(v.version)), null) : null),
      section('Tags', (model.tags || []).length, tagEditor('model-tags', (model.tags || []).slice().sort(byKey),
        (key, value) => post('registered-models/set-tag', {name, key, value}),
        key => del('registered-models/delete-tag', {name, key})))));
  }

  /**
   * Sets an alias through the server, which may refuse it (a protected alias whose promotion
   * gate fails answers 403 with the reasons): the refusal is shown as the server wrote it.
   * `fixed` is the version when the form sits on one version's page.
   */
  function aliasForm(name, versions, fixed) {
    const alias = h('input', {type: 'text', name: 'alias', placeholder: 'champion', 'aria-label': 'Alias', required: true});
    const version = fixed === null ?
      h('select', {'aria-label': 'Version', name: 'version'}, versions.map(v => h('option', {value: v}, `v${v}`))) :
      null;
    const status = h('div', {class: 'form-status', id: 'alias-status'});
    const form = h('form', {class: 'alias-form', id: 'alias-form', onsubmit: async ev => {
      ev.preventDefault();
      clear(status);
      const v = fixed === null ? version.value : fixed;
      try {
        await post('registered-models/alias', {name, alias: alias.value.trim(), version: v});
        route();
      } catch (err) {
        status.appendChild(errorBox(err, `@${alias.value.trim()} was not set on v${v}:`));
      }
    }}, 'Set alias ', alias, fixed === null ? [' on ', version] : ` on v${fixed}`,
    h('button', {type: 'submit', class: 'primary'}, 'Set alias'));
    return h('div', {class: 'alias-editor'}, form, status);
  }

  async function versionPage(view, name, version) {
    document.title = `${name} v${version} · Slipway`;
    view.appendChild(crumbs(['Models', '#/models'], [name, modelHref(name)], [`v${version}`]));
    let v;
    try {
      v = (await get('model-versions/get', {name, version})).model_version || {};
    } catch (err) {
      view.appendChild(h('h1', null, `${name} v${version}`));
      if (isMissingEndpoint(err)) { view.appendChild(registryUnavailable(err)); return; }
      throw err;
    }
    let run = null;
    if (v.run_id) {
      try { run = (await get('runs/get', {run_id: v.run_id, run_uuid: v.run_id})).run; } catch (_) { /* shown as not found */ }
    }
    view.appendChild(h('h1', {id: 'version-name'}, `${v.name || name} v${v.version || version}`, ' ', stageBadge(v.current_stage)));
    view.appendChild(h('div', {class: 'subtitle'},
      h('span', null, 'Status ', badge(v.status || 'READY')),
      h('span', null, 'Created ', h('b', null, fmtTime(v.creation_timestamp))),
      v.run_id ? h('span', null, 'Source run ', h('a', {href: runHref(v.run_id), class: 'lineage'}, run ? runName(run) : v.run_id),
        run ? null : h('span', {class: 'muted'}, ' (run not found)')) : h('span', {class: 'muted'}, 'no source run'),
      v.source ? h('span', null, 'Source ', h('b', {class: 'mono'}, v.source)) : null));
    const line = datasetsLine(run);
    if (line) view.appendChild(line);
    view.appendChild(section('Description', null, editableText('version-description', v.description, 'No description.',
      text => patch('model-versions/update', {name, version: String(version), description: text}))));
    const aliases = (v.aliases || []).slice().sort();
    view.appendChild(h('div', {class: 'grid2'},
      section('Aliases', aliases.length, aliases.length ?
        h('p', {id: 'version-aliases'}, aliases.map(a => [badge(`@${a}`, 'alias'), ' '])) : h('p', {class: 'empty'}, 'No aliases.'),
      aliasForm(name, [String(version)], String(version))),
      section('Tags', (v.tags || []).length, tagEditor('version-tags', (v.tags || []).slice().sort(byKey),
        (key, value) => post('model-versions/set-tag', {name, version: String(version), key, value}),
        key => del('model-versions/delete-tag', {name, version: String(version), key})))));
    if (v.run_id) {
      const explained = await explanationsSection(v.run_id);
      if (explained) view.appendChild(explained);
    }
  }

  // ---------------------------------------------------------------- deployments

  // Deployments (A/B, canary, blue-green, shadow) over /api/2.0/slipway/deployments: the
  // list, and a page per deployment with its state, its actions and its event timeline.

  function deploymentsUnavailable(err) {
    return h('div', {class: 'notice info'}, h('h2', null, 'Deployments are not available here'),
      h('p', null, 'This server does not answer the deployments API (', h('code', null, err.message), ').'));
  }

  /** The version each `model@alias` points at, looked up once per pair. */
  async function aliasVersions(pairs) {
    const keys = [...new Set(pairs.map(([m, a]) => `${m}@${a}`))];
    const found = await Promise.allSettled(keys.map(k => {
      const at = k.lastIndexOf('@');
      return get('registered-models/alias', {name: k.slice(0, at), alias: k.slice(at + 1)});
    }));
    const out = new Map();
    keys.forEach((k, i) => {
      const r = found[i];
      if (r.status === 'fulfilled' && r.value.model_version) out.set(k, String(r.value.model_version.version));
    });
    return out;
  }

  function shareText(d) {
    const p = d.challenger_percent;
    if (p === undefined || p === null) return '';
    if (d.strategy === 'blue_green') return p >= 100 ? 'green (100 %)' : 'blue (0 %)';
    if (d.strategy === 'shadow') return 'shadow copy';
    return `${p} %`;
  }

  function challengerText(d) {
    if (!d.challenger) return '—';
    const v = d.challenger_version;
    return v && String(v) !== String(d.challenger) ? `${d.challenger} (v${v})` : (/^[0-9]+$/.test(d.challenger) ? `v${d.challenger}` : d.challenger);
  }

  function statusBadge(status) {
    return badge(status || 'unknown', `deploy-${status || 'unknown'}`);
  }

  async function deploymentsPage(view) {
    document.title = 'Deployments · Slipway';
    view.appendChild(h('h1', null, 'Deployments'));
    let list;
    try {
      list = (await get(`${DEPLOYMENTS}/list`)).deployments || [];
    } catch (err) {
      if (isMissingEndpoint(err)) { view.appendChild(deploymentsUnavailable(err)); return; }
      throw err;
    }
    const champions = await aliasVersions(list.map(d => [d.model, d.champion || 'champion']));
    const body = list.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'data', id: 'deployments'},
      h('thead', null, h('tr', null, ['Name', 'Model', 'Strategy', 'State', 'Split / step', 'Champion', 'Challenger', 'Last change']
        .map(t => h('th', null, t)))),
      h('tbody', null, list.slice().reverse().map(d => {
        const champ = d.champion || 'champion';
        const cv = champions.get(`${d.model}@${champ}`);
        return h('tr', {'data-deployment': d.name},
          h('td', {class: 'nowrap'}, h('a', {href: deploymentHref(d.name), class: 'deployment-link'}, d.name)),
          h('td', null, h('a', {href: modelHref(d.model)}, d.model)),
          h('td', null, d.strategy),
          h('td', null, statusBadge(d.status)),
          h('td', {class: 'num'}, shareText(d)),
          h('td', null, badge(`@${champ}`, 'alias'), cv ? ` v${cv}` : ''),
          h('td', null, challengerText(d)),
          h('td', {class: 'nowrap'}, fmtTime(d.updated_ms)));
      })))) :
      h('p', {class: 'empty'}, 'No deployments yet. Create one with slipway deploy create.');
    view.appendChild(section('All deployments', list.length, body));
  }

  /** A value's leaves as `a.b.c = v` rows (arrays of scalars joined), at most `limit`. */
  function flatValues(value, limit) {
    const out = [];
    const walk = (v, path) => {
      if (out.length >= limit) return;
      if (v === null || v === undefined) return;
      if (Array.isArray(v)) {
        if (v.every(x => x === null || typeof x !== 'object')) {
          if (v.length) out.push({key: path, value: v.map(x => typeof x === 'number' ? fmtNum(x) : String(x)).join('; ')});
        } else v.forEach((x, i) => walk(x, `${path}[${i}]`));
      } else if (typeof v === 'object') {
        for (const k of Object.keys(v)) walk(v[k], path ? `${path}.${k}` : k);
      } else {
        out.push({key: path, value: typeof v === 'number' ? fmtNum(v) : String(v), num: typeof v === 'number'});
      }
    };
    walk(value, '');
    return out;
  }

  const DEPLOYMENT_ACTIONS = [
    // [action, label, allowed in these states]
    ['pause', 'Pause', ['running']],
    ['resume', 'Resume', ['paused']],
    ['promote', 'Promote', ['running', 'paused']],
    ['rollback', 'Roll back', ['running', 'paused']],
    ['end', 'End', ['running', 'paused']],
  ];

  function deploymentActions(d) {
    const reason = h('input', {type: 'text', name: 'reason', id: 'deployment-reason', placeholder: 'Reason (recorded with the event)',
      'aria-label': 'Reason', maxlength: '4096'});
    const status = h('div', {class: 'form-status', id: 'deployment-action-status'});
    const blueOpen = d.status === 'promoted' && d.blue_green && d.blue_green.blue_loaded;
    const buttons = DEPLOYMENT_ACTIONS.map(([action, label, states]) => {
      const text = action === 'promote' && d.strategy === 'blue_green' ? 'Flip to green' :
        action === 'rollback' && blueOpen ? 'Roll back to blue' : label;
      const allowed = states.includes(d.status) || (action === 'rollback' && blueOpen);
      return h('button', {type: 'button', class: action === 'promote' ? 'primary' : null, 'data-action': action,
        disabled: allowed ? null : true,
        onclick: async ev => {
          clear(status);
          ev.target.disabled = true;
          try {
            await post(`${DEPLOYMENTS}/${action}`, {name: d.name, reason: reason.value.trim() || undefined});
            route();
          } catch (err) {
            ev.target.disabled = false;
            status.appendChild(errorBox(err, `${text} was refused:`));
          }
        }}, text);
    });
    return h('div', {class: 'deployment-actions', id: 'deployment-actions'},
      h('div', {class: 'buttons'}, reason, ...buttons), status);
  }

  function eventTimeline(events) {
    if (!events.length) return h('p', {class: 'empty'}, 'No events.');
    return h('ol', {class: 'timeline', id: 'deployment-events'}, events.slice().reverse().map(e => {
      const values = flatValues(e.values, 60);
      return h('li', {class: ['event', `event-${e.kind}`], 'data-kind': e.kind},
        h('div', {class: 'event-head'},
          h('span', {class: 'nowrap muted'}, fmtTime(e.time_ms)), ' ',
          badge(e.kind.replace(/_/g, ' '), `event-${e.kind}`), ' ',
          h('span', {class: 'event-reason'}, e.reason || '')),
        values.length ? h('details', {class: 'event-values', open: e.kind === 'rolled_back' || e.kind === 'smoke_test_failed' ? true : null},
          h('summary', null, `${values.length} measured values`), kvTable(values)) : null);
    }));
  }

  async function deploymentPage(view, name) {
    document.title = `${name} · Deployments · Slipway`;
    view.appendChild(crumbs(['Deployments', '#/deployments'], [name]));
    let d;
    try {
      d = (await get(`${DEPLOYMENTS}/get`, {name})).deployment || {};
    } catch (err) {
      view.appendChild(h('h1', null, name));
      if (isMissingEndpoint(err)) { view.appendChild(deploymentsUnavailable(err)); return; }
      throw err;
    }
    const champ = d.champion || 'champion';
    const versions = await aliasVersions([[d.model, champ]]);
    const cv = versions.get(`${d.model}@${champ}`);
    view.appendChild(h('h1', {id: 'deployment-name'}, d.name || name, ' ', statusBadge(d.status)));
    view.appendChild(h('div', {class: 'subtitle'},
      h('span', null, 'Model ', h('a', {href: modelHref(d.model)}, d.model)),
      h('span', null, 'Strategy ', h('b', null, d.strategy)),
      h('span', null, 'Created ', h('b', null, fmtTime(d.created_ms))),
      h('span', null, 'Last change ', h('b', null, fmtTime(d.updated_ms)))));
    const rows = [
      {key: 'State', value: statusBadge(d.status)},
      {key: 'Split / step', value: shareText(d)},
      {key: 'Champion', value: [badge(`@${champ}`, 'alias'), cv ? ` v${cv}` : '']},
      {key: 'Challenger', value: challengerText(d)},
      {key: 'Evaluations', value: String(d.evaluations === undefined || d.evaluations === null ? 0 : d.evaluations), num: true},
    ];
    if (d.lease_owner) rows.push({key: 'Driven by', value: d.lease_owner});
    const bg = d.blue_green;
    if (bg) {
      rows.push({key: 'Blue', value: `v${bg.blue_version} · ${bg.blue_loaded ? `loaded until ${fmtTime(bg.keep_blue_until_ms)}` : 'unloaded'}`});
      rows.push({key: 'Green', value: `v${bg.green_version} · flipped ${fmtTime(bg.flipped_ms)}`});
    }
    const counters = d.counters ? flatValues(d.counters, 20) : [];
    const plan = Object.assign({}, d.plan || {});
    for (const k of ['name', 'model', 'champion', 'challenger', 'strategy', 'recorded_requests']) delete plan[k];
    if (d.plan && d.plan.recorded_requests) plan.recorded_requests = `${d.plan.recorded_requests.length} rows`;
    view.appendChild(h('div', {class: 'grid2'},
      section('State', null, kvTable(rows), deploymentActions(d)),
      section('Parameters', null, kvTable(flatValues(plan, 40), {empty: 'No parameters.'}),
        counters.length ? h('div', null, h('h3', null, 'Requests on this server'), kvTable(counters)) : null)));
    const events = d.events || [];
    view.appendChild(section('Timeline', events.length, eventTimeline(events)));
  }

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', route);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', route);
  else route();
})();
