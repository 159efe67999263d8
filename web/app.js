// SAIL-KG web page: search, datasets, entities, SPARQL and SQL consoles, generation.
// Plain JavaScript over the server's own APIs; no framework, no build step, nothing fetched from
// elsewhere. Every server error reaches the page as a readable message.
'use strict';

const main = document.getElementById('main');
const CATALOG = 'urn:sailkg:graph:catalog';
const DATASET = 'urn:sailkg:dataset:';
const METHODS = ['copula', 'bootstrap', 'smote', 'mh', 'langevin', 'tilt', 'tvae', 'ctgan', 'diffusion'];
const PREFIXES = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#', rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  owl: 'http://www.w3.org/2002/07/owl#', xsd: 'http://www.w3.org/2001/XMLSchema#',
  skos: 'http://www.w3.org/2004/02/skos/core#', dcterms: 'http://purl.org/dc/terms/',
  dcat: 'http://www.w3.org/ns/dcat#', prov: 'http://www.w3.org/ns/prov#', sh: 'http://www.w3.org/ns/shacl#',
  schema: 'http://schema.org/', sosa: 'http://www.w3.org/ns/sosa/', time: 'http://www.w3.org/2006/time#',
  sail: 'urn:sailkg:vocab#', void: 'http://rdfs.org/ns/void#',
};

// ---------------------------------------------------------------- helpers

/** An element: h('a', {href: '#'}, 'text', child). Strings are text, never HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const child of children.flat(Infinity)) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function announce(text) { document.getElementById('announce').textContent = text; }

function errorBox(error) { return h('p', { class: 'error', role: 'alert' }, String(error.message || error)); }

/** Calls the server; a failure throws an Error whose message is the server's own words. */
async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error(`The server cannot be reached (${e.message}). Is sailkg still running?`);
  }
  if (!response.ok) {
    let text = (await response.text()).trim();
    try { const j = JSON.parse(text); text = j.error || j.message || text; } catch (_) { /* plain text */ }
    throw new Error(`${response.status} ${response.statusText}: ${text || 'no details'}`);
  }
  return response;
}
const getJson = async (path, options) => (await api(path, options)).json();

async function sparql(query) {
  return getJson('/sparql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/sparql-query', Accept: 'application/sparql-results+json' },
    body: query,
  });
}

async function sql(statement) {
  return getJson('/sql', { method: 'POST', headers: { 'Content-Type': 'text/plain', Accept: 'application/json' }, body: statement });
}

/** Whether an IRI can go between < and > in SPARQL. */
function safeIri(iri) { return /^[^\s<>"{}|^`\\]+$/.test(iri); }
function literal(text) { return '"' + text.replace(/[\\"]/g, c => '\\' + c).replace(/\n/g, '\\n') + '"'; }

function shortIri(iri) {
  for (const [p, ns] of Object.entries(PREFIXES)) if (iri.startsWith(ns) && iri.length > ns.length) return p + ':' + iri.slice(ns.length);
  return iri;
}

function entityLink(iri, text) {
  if (iri.startsWith(DATASET) && !iri.slice(DATASET.length).includes('/')) return h('a', { href: '#/dataset/' + encodeURIComponent(iri.slice(DATASET.length)) }, text || iri.slice(DATASET.length));
  return h('a', { href: '#/entity?iri=' + encodeURIComponent(iri) }, text || shortIri(iri));
}

function termNode(term) {
  if (!term) return '';
  if (term.type === 'uri') return entityLink(term.value);
  if (term.type === 'bnode') return '_:' + term.value;
  const parts = [term.value];
  if (term['xml:lang']) parts.push(h('span', { class: 'badge' }, '@' + term['xml:lang']));
  else if (term.datatype && !term.datatype.endsWith('#string')) parts.push(h('span', { class: 'badge' }, shortIri(term.datatype)));
  return h('span', {}, ...parts);
}

/** A table of rows (arrays of nodes or strings) with a caption for screen readers. */
function table(caption, heads, rows, numeric = []) {
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, heads.map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map(r => h('tr', {}, r.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, c ?? '')))))));
}

function sparqlTable(caption, json) {
  const vars = json.head.vars;
  return table(caption, vars, json.results.bindings.map(b => vars.map(v => termNode(b[v]))));
}

function jsonRowsTable(caption, rows) {
  const heads = rows.length ? Object.keys(rows[0]) : [];
  return table(caption, heads, rows.map(r => heads.map(k => r[k] === null ? '' : typeof r[k] === 'object' ? JSON.stringify(r[k]) : String(r[k]))),
    heads.map((k, i) => (rows.length && typeof rows[0][k] === 'number' ? i : -1)));
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function page(title, ...children) {
  document.title = title + ' · SAIL-KG';
  main.replaceChildren(h('h1', {}, title), ...children);
}

const token = {
  get() { return sessionStorage.getItem('sailkg-token') || ''; },
  set(value) { sessionStorage.setItem('sailkg-token', value); },
};

// ---------------------------------------------------------------- charts

function histogram(values, width = 260, height = 120) {
  const nums = values.filter(v => typeof v === 'number' && Number.isFinite(v));
  if (!nums.length) return null;
  const lo = Math.min(...nums), hi = Math.max(...nums), bins = 20;
  const counts = new Array(bins).fill(0);
  for (const v of nums) counts[hi === lo ? 0 : Math.min(bins - 1, Math.floor((v - lo) / (hi - lo) * bins))]++;
  const top = Math.max(...counts), bw = (width - 10) / bins;
  return svgEl('svg', { width, height: height + 16, viewBox: `0 0 ${width} ${height + 16}`, role: 'img', 'aria-label': `histogram of ${nums.length} values from ${lo} to ${hi}` },
    counts.map((c, i) => svgEl('rect', { class: 'bar', x: 5 + i * bw, y: height - (c / top) * (height - 4), width: Math.max(1, bw - 1), height: (c / top) * (height - 4) },
      svgEl('title', {}, `${c} values`))),
    svgEl('text', { x: 5, y: height + 13 }, fmt(lo)),
    svgEl('text', { x: width - 5, y: height + 13, 'text-anchor': 'end' }, fmt(hi)));
}

function barChart(values, width = 260) {
  const counts = new Map();
  for (const v of values) if (v !== null && v !== undefined && v !== '') counts.set(String(v), (counts.get(String(v)) || 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (!top.length) return null;
  const max = top[0][1], rowH = 16;
  return svgEl('svg', { width, height: top.length * rowH + 4, role: 'img', 'aria-label': `most frequent values: ${top.map(([k, c]) => `${k} ${c}`).join(', ')}` },
    top.map(([k, c], i) => [
      svgEl('rect', { class: 'bar', x: 110, y: i * rowH + 2, width: Math.max(1, (width - 150) * c / max), height: rowH - 4 }),
      svgEl('text', { x: 105, y: i * rowH + 13, 'text-anchor': 'end' }, k.length > 16 ? k.slice(0, 15) + '…' : k),
      svgEl('text', { x: 114 + (width - 150) * c / max, y: i * rowH + 13 }, c),
    ]));
}

function fmt(v) { return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000); }

// ---------------------------------------------------------------- search

async function searchPage(params) {
  const q = params.get('q') || '';
  const input = h('input', { type: 'search', id: 'q', name: 'q', value: q, autocomplete: 'off', role: 'combobox',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': 'suggestions', placeholder: 'airports, disasters, a class, a column…' });
  const list = h('ul', { id: 'suggestions', role: 'listbox', 'aria-label': 'Suggestions', hidden: true });
  const form = h('form', { role: 'search', class: 'search-box', onsubmit: e => { e.preventDefault(); go(input.value, {}); } },
    h('label', { for: 'q' }, 'Search datasets, columns, classes and entities'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Search')), list);
  const results = h('div', { id: 'results' });
  page('Search', form, results);
  typeahead(input, list, async text => (await getJson('/search/suggest?q=' + encodeURIComponent(text))).result
    .map(hit => ({ label: hit.title || hit.id, kind: hit.kind, href: entityLink(hit.id).getAttribute('href') })));
  const filters = {};
  for (const [k, v] of params) if (k !== 'q' && k !== 'page') filters[k] = v;
  function go(text, f, pageNo = 0) {
    const p = new URLSearchParams({ q: text, ...f });
    if (pageNo) p.set('page', pageNo);
    location.hash = '#/?' + p.toString();
  }
  if (!q && !Object.keys(filters).length) {
    results.append(h('p', { class: 'muted' }, 'Type to search, or browse the ', h('a', { href: '#/datasets' }, 'datasets'), '.'));
    try { results.append(await catalogOverview()); } catch (e) { results.append(errorBox(e)); }
    return;
  }
  const pageNo = Number(params.get('page') || 0);
  try {
    const query = new URLSearchParams({ q, ...filters, page: pageNo, size: 20 });
    const r = await getJson('/search?' + query);
    const facets = h('aside', { class: 'facets', 'aria-label': 'Filters' },
      Object.entries(r.facets).filter(([, values]) => values.length).map(([dim, values]) => h('fieldset', {},
        h('legend', {}, dim),
        values.slice(0, 12).map(([value, count]) => {
          const on = filters[dim] === value;
          return h('button', { type: 'button', 'aria-pressed': on ? 'true' : 'false', 'data-facet': dim, 'data-value': value,
            onclick: () => { const f = { ...filters }; if (on) delete f[dim]; else f[dim] = value; go(q, f); } },
          h('span', {}, shortIri(value) || '(none)'), h('span', { class: 'count' }, count));
        }))));
    const hits = h('ol', { class: 'hits' }, r.hits.map(hit => {
      const snippet = h('div', { class: 'muted' });
      snippet.innerHTML = hit.highlight; // HTML-escaped by the server, matches in <b>
      return h('li', {},
        h('div', { class: 'title' }, entityLink(hit.id, hit.title || hit.id), h('span', { class: 'badge' }, hit.kind)),
        h('div', { class: 'iri' }, hit.id), snippet);
    }));
    const pager = h('div', { class: 'row' },
      pageNo > 0 ? h('button', { class: 'secondary', onclick: () => go(q, filters, pageNo - 1) }, 'Previous') : null,
      (pageNo + 1) * 20 < r.total ? h('button', { class: 'secondary', onclick: () => go(q, filters, pageNo + 1) }, 'Next') : null);
    results.append(h('p', { role: 'status' }, `${r.total} results in ${Math.round(r.took_ms)} ms`),
      h('div', { class: 'layout' }, facets, h('div', {}, r.total ? hits : h('p', {}, 'Nothing matches. Try fewer words or remove a filter.'), pager)));
    announce(`${r.total} results`);
  } catch (e) { results.append(errorBox(e)); }
}

/** A combobox: `suggest(text)` gives [{label, kind, href}]; arrows move, Enter follows, Escape closes. */
function typeahead(input, list, suggest, minLength = 2) {
  let active = -1, timer = null, items = [];
  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; };
  const mark = () => items.forEach((li, i) => {
    li.setAttribute('aria-selected', i === active ? 'true' : 'false');
    if (i === active) input.setAttribute('aria-activedescendant', li.id);
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < minLength) return close();
    timer = setTimeout(async () => {
      try {
        items = (await suggest(text)).map((s, i) => h('li', { role: 'option', id: `${list.id}-${i}`, 'aria-selected': 'false', 'data-href': s.href,
          onmousedown: e => { e.preventDefault(); location.hash = s.href; } }, s.label, h('span', { class: 'badge' }, s.kind)));
        list.replaceChildren(...items);
        active = -1;
        if (items.length) { list.hidden = false; input.setAttribute('aria-expanded', 'true'); } else close();
      } catch (_) { close(); }
    }, 150);
  });
  input.addEventListener('keydown', e => {
    if (list.hidden) return;
    if (e.key === 'ArrowDown') { active = (active + 1) % items.length; mark(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { active = (active - 1 + items.length) % items.length; mark(); e.preventDefault(); }
    else if (e.key === 'Escape') close();
    else if (e.key === 'Enter' && active >= 0) { e.preventDefault(); location.hash = items[active].dataset.href; }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}

async function catalogOverview() {
  const c = await getJson('/api/catalog');
  return h('div', {},
    h('h2', {}, 'Datasets'), datasetTable(c.datasets),
    h('h2', {}, 'Class views'), table('Class views', ['view', 'class', 'instances'],
      c.classes.map(r => [h('a', { href: '#/sql?q=' + encodeURIComponent(`SELECT * FROM kg.${r.view} LIMIT 100`) }, 'kg.' + r.view), entityLink(r.class), String(r.instances)]), [2]));
}

function datasetTable(datasets) {
  return table('Datasets', ['dataset', 'rows', 'columns', 'format', 'version'],
    datasets.map(d => [h('a', { href: '#/dataset/' + encodeURIComponent(d.name) }, d.name), String(d.rows ?? ''), String(d.columns ?? ''), d.format ?? '', d.latest_version ?? '']), [1, 2]);
}

async function datasetsPage() {
  page('Datasets');
  try {
    const c = await getJson('/api/catalog');
    main.append(datasetTable(c.datasets), h('h2', {}, 'Runs'),
      table('Runs', ['run', 'kind', 'started', 'generated'], c.runs.map(r => [runLink(r), r.kind, r.started, r.generated ? entityLink(r.generated) : ''])));
  } catch (e) { main.append(errorBox(e)); }
}

function runLink(r) {
  const m = /^urn:sailkg:run:generate\/(.+)$/.exec(r.run);
  return m ? h('a', { href: '#/run/' + encodeURIComponent(m[1]) }, m[1]) : entityLink(r.run, r.run.replace('urn:sailkg:run:', ''));
}

// ---------------------------------------------------------------- dataset

async function datasetPage(name) {
  page(name, h('p', { role: 'status' }, 'Loading…'));
  let d;
  try { d = await getJson('/api/catalog/' + encodeURIComponent(name)); } catch (e) { main.replaceChildren(h('h1', {}, name), errorBox(e)); return; }
  const facts = h('dl', { class: 'facts' });
  for (const [k, v] of Object.entries(d.dataset)) if (v !== null && v !== '') facts.append(h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, String(v)));
  const charts = h('div', { class: 'charts' });
  const lineage = h('div', { class: 'lineage' }, h('p', { class: 'muted' }, 'Loading lineage…'));
  main.replaceChildren(h('h1', {}, name), facts,
    h('p', {}, h('a', { href: '#/sql?q=' + encodeURIComponent(`SELECT * FROM source."${name}" LIMIT 100`) }, 'Query it in SQL'), ' · ',
      h('a', { href: '#/generate?from=' + encodeURIComponent('source.' + name) }, 'Generate synthetic rows'), ' · ',
      h('a', { href: '#/entity?iri=' + encodeURIComponent(DATASET + name) }, 'Its catalogue entry')),
    h('h2', {}, 'Schema and profile'),
    table('Columns', ['column', 'type', 'nulls', 'distinct', 'min', 'max'], d.columns.map(c => [
      c.name, c.datatype,
      h('span', {}, h('span', { class: 'nullbar', style: `width:${Math.round((c.null_share || 0) * 60)}px` }), `${Math.round((c.null_share || 0) * 1000) / 10} %`),
      String(c.distinct_count ?? ''), c.min ?? '', c.max ?? '']), [2, 3]),
    h('h2', {}, 'Distributions'), h('p', { class: 'muted' }, 'Of the first 5,000 rows.'), charts,
    h('h2', {}, 'Lineage'), lineage,
    h('h2', {}, 'Sample rows'), jsonRowsTable('Sample rows', d.sample));
  try {
    const rows = await sql(`SELECT * FROM source."${name.replace(/"/g, '""')}" LIMIT 5000`);
    for (const c of d.columns.slice(0, 24)) {
      const values = rows.map(r => r[c.name]);
      const chart = values.some(v => typeof v === 'number') ? histogram(values) : barChart(values);
      if (chart) charts.append(h('figure', {}, h('figcaption', {}, c.name), chart));
    }
  } catch (e) { charts.append(errorBox(e)); }
  try { lineage.replaceChildren(await lineageOf(name)); } catch (e) { lineage.replaceChildren(errorBox(e)); }
}

async function lineageOf(name) {
  const prefix = DATASET + name + '/';
  const r = await sparql(`PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX sail: <urn:sailkg:vocab#>
SELECT DISTINCT ?activity ?type ?used ?generated WHERE { GRAPH <${CATALOG}> {
  ?activity a prov:Activity . OPTIONAL { ?activity a ?type FILTER(?type != prov:Activity) }
  OPTIONAL { ?activity prov:used ?used }
  OPTIONAL { { ?activity prov:generated ?generated } UNION { ?generated prov:wasGeneratedBy ?activity } }
  FILTER((BOUND(?used) && STRSTARTS(STR(?used), ${literal(prefix)})) || (BOUND(?generated) && STRSTARTS(STR(?generated), ${literal(prefix)}))
    || EXISTS { ?activity sail:source ${literal(name)} })
} } LIMIT 300`);
  const acts = new Map();
  for (const b of r.results.bindings) {
    const a = acts.get(b.activity.value) || { type: '', used: new Set(), generated: new Set() };
    if (b.type) a.type = shortIri(b.type.value).replace('sail:', '');
    if (b.used) a.used.add(b.used.value);
    if (b.generated) a.generated.add(b.generated.value);
    acts.set(b.activity.value, a);
  }
  if (!acts.size) return h('p', { class: 'muted' }, 'No recorded activity used or made this dataset.');
  const inputs = [...new Set([...acts.values()].flatMap(a => [...a.used]))];
  const outputs = [...new Set([...acts.values()].flatMap(a => [...a.generated]))];
  const names = [...acts.keys()];
  const rowH = 34, colW = 250, width = colW * 3 + 80, height = Math.max(inputs.length, names.length, outputs.length) * rowH + 30;
  const label = iri => { const s = iri.replace(/^urn:sailkg:(run:|dataset:|graph:)?/, '').replace(/^file:\/\/.*\//, ''); return clip(s); };
  const clip = s => (s.length > 36 ? s.slice(0, 35) + '…' : s);
  const y = i => 20 + i * rowH;
  const svg = svgEl('svg', { width, height, role: 'img', 'aria-label': `Lineage of ${name}: ${names.length} activities` });
  const box = (x, yy, text, cls, iri) => {
    const g = svgEl('g', {}, svgEl('rect', { x, y: yy - 12, width: colW - 20, height: 24, rx: 4, class: cls }), svgEl('text', { x: x + 6, y: yy + 4 }, text), svgEl('title', {}, iri));
    return iri ? svgEl('a', { href: '#/entity?iri=' + encodeURIComponent(iri) }, g) : g;
  };
  names.forEach((n, i) => {
    const a = acts.get(n);
    for (const u of a.used) svg.append(svgEl('path', { d: `M${10 + colW - 20},${y(inputs.indexOf(u))} C${colW + 20},${y(inputs.indexOf(u))} ${colW + 20},${y(i)} ${colW + 40},${y(i)}` }));
    for (const g of a.generated) svg.append(svgEl('path', { d: `M${colW + 40 + colW - 20},${y(i)} C${2 * colW + 50},${y(i)} ${2 * colW + 50},${y(outputs.indexOf(g))} ${2 * colW + 70},${y(outputs.indexOf(g))}` }));
  });
  inputs.forEach((u, i) => svg.append(box(10, y(i), label(u), '', u)));
  names.forEach((n, i) => svg.append(box(colW + 40, y(i), clip(`${(acts.get(n).type || 'activity').replace(/Run$/, '')}: ${label(n)}`), 'activity', n)));
  outputs.forEach((g, i) => svg.append(box(2 * colW + 70, y(i), label(g), '', g)));
  return h('div', {}, h('p', { class: 'muted' }, 'Used → activity → generated (PROV, from the catalogue).'), svg,
    h('details', {}, h('summary', {}, 'As a table'),
      table('Lineage', ['activity', 'kind', 'used', 'generated'], names.map(n => [entityLink(n, label(n)), acts.get(n).type,
        h('span', {}, [...acts.get(n).used].map(u => h('div', {}, entityLink(u, label(u))))),
        h('span', {}, [...acts.get(n).generated].map(g => h('div', {}, entityLink(g, label(g)))))]))));
}

// ---------------------------------------------------------------- entity

async function entityPage(params) {
  const iri = params.get('iri') || '';
  page(shortIri(iri) || 'Entity');
  if (!safeIri(iri)) { main.append(errorBox(new Error(`Not an IRI: ${JSON.stringify(iri)}`))); return; }
  main.append(h('p', { class: 'iri' }, iri));
  try {
    const [out, into] = await Promise.all([
      sparql(`SELECT ?p ?o ?g WHERE { { <${iri}> ?p ?o } UNION { GRAPH ?g { <${iri}> ?p ?o } } } LIMIT 1000`),
      sparql(`SELECT ?s ?p ?g WHERE { { ?s ?p <${iri}> } UNION { GRAPH ?g { ?s ?p <${iri}> } } } LIMIT 200`),
    ]);
    const rows = out.results.bindings;
    const title = rows.find(b => /(label|name|title)$/.test(b.p.value) && b.o.type === 'literal');
    if (title) main.querySelector('h1').textContent = title.o.value;
    if (!rows.length && !into.results.bindings.length) { main.append(h('p', {}, 'The store says nothing about this IRI.')); return; }
    const linkProps = ['http://www.w3.org/2002/07/owl#sameAs', 'http://www.w3.org/2004/02/skos/core#closeMatch', 'http://www.w3.org/2004/02/skos/core#exactMatch'];
    const links = rows.filter(b => linkProps.includes(b.p.value)).concat(into.results.bindings.filter(b => linkProps.includes(b.p.value)));
    main.append(h('h2', {}, 'Triples'), table('Triples', ['property', 'value', 'graph'], rows.map(b => [entityLink(b.p.value), termNode(b.o), b.g ? entityLink(b.g.value) : 'default'])));
    main.append(h('h2', {}, 'Links'), links.length
      ? table('Links', ['link', 'entity'], links.map(b => [shortIri(b.p.value), termNode(b.o || b.s)]))
      : h('p', { class: 'muted' }, 'No owl:sameAs or skos links.'));
    if (into.results.bindings.length) main.append(h('h2', {}, 'Used by'), table('Incoming', ['entity', 'property', 'graph'], into.results.bindings.map(b => [termNode(b.s), entityLink(b.p.value), b.g ? entityLink(b.g.value) : 'default'])));
    const graphs = [...new Set(rows.filter(b => b.g).map(b => b.g.value))].filter(safeIri);
    if (graphs.length) {
      const prov = await sparql(`PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT DISTINCT ?graph ?activity ?type ?ended ?used WHERE { VALUES ?graph { ${graphs.map(g => `<${g}>`).join(' ')} }
  GRAPH <${CATALOG}> { { ?graph prov:wasGeneratedBy ?activity } UNION { ?activity prov:generated ?graph }
    OPTIONAL { ?activity a ?type FILTER(?type != prov:Activity) } OPTIONAL { ?activity prov:endedAtTime ?ended } OPTIONAL { ?activity prov:used ?used } } }`);
      main.append(h('h2', {}, 'Provenance'), prov.results.bindings.length
        ? sparqlTable('Provenance', prov)
        : h('p', { class: 'muted' }, 'No recorded activity made the graphs these triples are in.'));
    }
  } catch (e) { main.append(errorBox(e)); }
}

// ---------------------------------------------------------------- consoles

const SPARQL_KEYWORDS = /^(SELECT|CONSTRUCT|DESCRIBE|ASK|WHERE|PREFIX|BASE|FROM|NAMED|GRAPH|OPTIONAL|UNION|MINUS|FILTER|BIND|VALUES|SERVICE|SILENT|GROUP|BY|ORDER|ASC|DESC|LIMIT|OFFSET|DISTINCT|REDUCED|HAVING|AS|INSERT|DELETE|DATA|WITH|USING|CLEAR|DROP|LOAD|CREATE|EXISTS|NOT|IN|COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT|STR|LANG|DATATYPE|BOUND|IRI|REGEX|CONTAINS|STRSTARTS|LCASE|UCASE|a|true|false)$/i;

function highlight(text) {
  const out = [];
  const re = /(#[^\n]*)|(<[^\s<>"{}|^`\\]*>)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|([?$][A-Za-z_0-9]+)|(\b[A-Za-z][\w-]*:[\w.-]*|\b:[\w-]+)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_]+)/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    const cls = m[1] ? 'com' : m[2] ? 'iri' : m[3] ? 'str' : m[4] ? 'var' : m[5] ? 'pn' : m[6] ? 'num' : SPARQL_KEYWORDS.test(m[7]) ? 'kw' : null;
    out.push(cls ? h('span', { class: 'tok-' + cls }, m[0]) : document.createTextNode(m[0]));
    last = re.lastIndex;
  }
  out.push(document.createTextNode(text.slice(last) + '\n'));
  return out;
}

/** A textarea with syntax colours behind it and prefix completion after `PREFIX `. */
function sparqlEditor(id, value) {
  const pre = h('pre', { 'aria-hidden': 'true' });
  const area = h('textarea', { id, spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': id + '-help', rows: 12 });
  area.value = value;
  const list = h('ul', { class: 'completions', role: 'listbox', id: id + '-completions', 'aria-label': 'Prefixes', hidden: true });
  const paint = () => { pre.replaceChildren(...highlight(area.value)); pre.scrollTop = area.scrollTop; };
  let options = [], active = 0;
  const close = () => { list.hidden = true; area.removeAttribute('aria-activedescendant'); };
  const accept = name => {
    const start = area.selectionStart, before = area.value.slice(0, start), word = /(\w*)$/.exec(before)[1];
    const insert = `${name}: <${PREFIXES[name]}>\n`;
    area.setRangeText(insert, start - word.length, start, 'end');
    close(); paint();
  };
  const show = () => {
    const before = area.value.slice(0, area.selectionStart);
    const m = /PREFIX\s+(\w*)$/i.exec(before);
    if (!m) return close();
    options = Object.keys(PREFIXES).filter(p => p.startsWith(m[1].toLowerCase()));
    if (!options.length) return close();
    active = 0;
    list.replaceChildren(...options.map((p, i) => h('li', { role: 'option', id: `${id}-opt-${i}`, 'aria-selected': i === 0 ? 'true' : 'false',
      onmousedown: e => { e.preventDefault(); accept(p); } }, `${p}: <${PREFIXES[p]}>`)));
    list.hidden = false;
    area.setAttribute('aria-activedescendant', `${id}-opt-0`);
  };
  area.addEventListener('input', () => { paint(); show(); });
  area.addEventListener('scroll', () => { pre.scrollTop = area.scrollTop; });
  area.addEventListener('keydown', e => {
    if (!list.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        active = (active + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
        [...list.children].forEach((li, i) => li.setAttribute('aria-selected', i === active ? 'true' : 'false'));
        area.setAttribute('aria-activedescendant', `${id}-opt-${active}`);
        e.preventDefault();
      } else if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); accept(options[active]); }
      else if (e.key === 'Escape') { e.preventDefault(); close(); }
    }
  });
  area.addEventListener('blur', () => setTimeout(close, 100));
  paint();
  return { area, element: h('div', { class: 'editor' }, pre, area, list) };
}

/** Declarations for the known prefixes a query uses but does not declare. */
function missingPrefixes(text) {
  const declared = new Set([...text.matchAll(/PREFIX\s+(\w*):/gi)].map(m => m[1]));
  const body = text.replace(/<[^>]*>|"(?:[^"\\]|\\.)*"|#[^\n]*/g, ' ');
  const used = new Set([...body.matchAll(/(?:^|[\s(,;/^|!])([A-Za-z][\w-]*):[A-Za-z_]/g)].map(m => m[1]));
  return [...used].filter(p => PREFIXES[p] && !declared.has(p)).map(p => `PREFIX ${p}: <${PREFIXES[p]}>`).join('\n');
}

const SPARQL_EXAMPLE = `PREFIX schema: <http://schema.org/>
SELECT ?airport ?name ?state WHERE {
  GRAPH ?g { ?airport a schema:Airport ; schema:name ?name ; schema:addressRegion ?state }
} ORDER BY ?name LIMIT 50`;

function sparqlPage(params) {
  const editor = sparqlEditor('sparql-query', params.get('q') || sessionStorage.getItem('sailkg-sparql') || SPARQL_EXAMPLE);
  const status = h('span', { role: 'status', class: 'muted' });
  const out = h('div', { id: 'sparql-results' });
  let lastQuery = '';
  const run = async () => {
    const query = editor.area.value;
    sessionStorage.setItem('sailkg-sparql', query);
    lastQuery = query;
    out.replaceChildren();
    status.textContent = 'Running…';
    const started = performance.now();
    try {
      const response = await api('/sparql', { method: 'POST', headers: { 'Content-Type': 'application/sparql-query', Accept: 'application/sparql-results+json, text/turtle;q=0.9' }, body: query });
      const ms = Math.round(performance.now() - started);
      if ((response.headers.get('Content-Type') || '').includes('json')) {
        const json = await response.json();
        if ('boolean' in json) { out.append(h('p', {}, `Answer: ${json.boolean}`)); status.textContent = `${ms} ms`; return; }
        out.append(sparqlTable('Query results', json));
        status.textContent = `${json.results.bindings.length} rows in ${ms} ms`;
      } else {
        out.append(h('pre', { class: 'scroll' }, await response.text()));
        status.textContent = `${ms} ms`;
      }
      announce(status.textContent);
    } catch (e) { status.textContent = 'Failed'; out.append(errorBox(e)); }
  };
  const save = async (accept, ext) => {
    try {
      const text = await (await api('/sparql', { method: 'POST', headers: { 'Content-Type': 'application/sparql-query', Accept: accept }, body: lastQuery || editor.area.value })).text();
      download('results.' + ext, accept, text);
    } catch (e) { out.prepend(errorBox(e)); }
  };
  editor.area.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  page('SPARQL',
    h('form', { onsubmit: e => { e.preventDefault(); run(); } },
      h('label', { for: 'sparql-query' }, 'Query'),
      editor.element,
      h('p', { id: 'sparql-query-help', class: 'muted' }, 'Ctrl+Enter runs it. After PREFIX, known prefixes complete (arrows, Enter). The endpoint is /sparql for any SPARQL 1.1 client.'),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'run-sparql' }, 'Run'),
        h('button', { type: 'button', class: 'secondary', onclick: () => {
          const add = missingPrefixes(editor.area.value);
          if (add) { editor.area.value = add + '\n' + editor.area.value; editor.area.dispatchEvent(new Event('input')); }
          announce(add ? 'Prefixes added' : 'No known prefix is missing');
        } }, 'Add missing prefixes'),
        h('button', { type: 'button', class: 'secondary', onclick: () => save('text/csv', 'csv') }, 'Download CSV'),
        h('button', { type: 'button', class: 'secondary', onclick: () => save('application/sparql-results+json', 'json') }, 'Download JSON'),
        status)),
    out);
  if (params.get('q')) run();
}

function sqlPage(params) {
  const area = h('textarea', { id: 'sql-query', spellcheck: 'false', rows: 8, class: 'sql', 'aria-describedby': 'sql-help' });
  area.value = params.get('q') || sessionStorage.getItem('sailkg-sql') || 'SELECT name, rows, columns FROM meta.datasets ORDER BY rows DESC';
  const status = h('span', { role: 'status', class: 'muted' });
  const out = h('div', { id: 'sql-results' });
  const run = async () => {
    sessionStorage.setItem('sailkg-sql', area.value);
    out.replaceChildren();
    status.textContent = 'Running…';
    const started = performance.now();
    try {
      const rows = await sql(area.value);
      out.append(jsonRowsTable('Query results', rows));
      status.textContent = `${rows.length} rows in ${Math.round(performance.now() - started)} ms`;
      announce(status.textContent);
    } catch (e) { status.textContent = 'Failed'; out.append(errorBox(e)); }
  };
  area.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  const editor = h('div', { class: 'editor' }, area);
  area.style.color = 'var(--ink)';
  page('SQL',
    h('form', { onsubmit: e => { e.preventDefault(); run(); } },
      h('label', { for: 'sql-query' }, 'Statement'), editor,
      h('p', { id: 'sql-help', class: 'muted' }, 'Read-only SQL (DataFusion) over source.*, kg.* (class views), synthetic.*, meta.* and sparql(). Ctrl+Enter runs it. psql works too with serve --pg-bind.'),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'run-sql' }, 'Run'),
        h('button', { type: 'button', class: 'secondary', onclick: async () => {
          try { download('results.csv', 'text/csv', await (await api('/sql', { method: 'POST', headers: { 'Content-Type': 'text/plain', Accept: 'text/csv' }, body: area.value })).text()); } catch (e) { out.prepend(errorBox(e)); }
        } }, 'Download CSV'), status)),
    out);
  if (params.get('q')) run();
}

// ---------------------------------------------------------------- generation

async function generatePage(params) {
  const field = (id, text, control, help) => h('div', {}, h('label', { for: id }, text), control, help ? h('p', { class: 'muted', id: id + '-help' }, help) : null);
  const from = h('select', { id: 'gen-from', required: true });
  const method = h('select', { id: 'gen-method' }, METHODS.map(m => h('option', { value: m }, m)));
  const where = h('input', { type: 'text', id: 'gen-where', placeholder: "Entity = 'Drought'", 'aria-describedby': 'gen-where-help' });
  const n = h('input', { type: 'number', id: 'gen-n', min: 1, max: 1000000, value: 200, required: true });
  const seed = h('input', { type: 'number', id: 'gen-seed', min: 0, placeholder: 'random' });
  const epochs = h('input', { type: 'number', id: 'gen-epochs', min: 1, placeholder: '300 (neural methods)' });
  const name = h('input', { type: 'text', id: 'gen-name', pattern: '[A-Za-z][A-Za-z0-9_]*', placeholder: 'method_time_seed' });
  const secret = h('input', { type: 'password', id: 'gen-token', value: token.get(), autocomplete: 'off', 'aria-describedby': 'gen-token-help' });
  const status = h('div', { id: 'job-status', role: 'status', 'aria-live': 'polite' });
  const jobs = h('div', {});
  const runs = h('div', {});
  const submit = h('button', { type: 'submit', id: 'gen-start' }, 'Start');
  const form = h('form', { onsubmit: async e => {
    e.preventDefault();
    token.set(secret.value.trim());
    const body = { from: from.value, method: method.value, n: Number(n.value) };
    if (where.value.trim()) body.where = where.value.trim();
    if (seed.value) body.seed = Number(seed.value);
    if (epochs.value) body.epochs = Number(epochs.value);
    if (name.value.trim()) body.name = name.value.trim();
    submit.disabled = true;
    status.replaceChildren(h('p', {}, 'Submitting…'));
    try {
      const job = await getJson('/api/generate', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token.get() }, body: JSON.stringify(body) });
      await watch(job.id, status);
    } catch (e) { status.replaceChildren(errorBox(e)); }
    submit.disabled = false;
    refresh();
  } },
  h('div', { class: 'grid' },
    field('gen-from', 'From', from), field('gen-method', 'Method', method), field('gen-n', 'Rows', n),
    field('gen-seed', 'Seed', seed), field('gen-epochs', 'Epochs', epochs), field('gen-name', 'Run name', name)),
  field('gen-where', 'Condition (the rare case every row satisfies)', where, 'SQL-like: column = \'value\', numbers with < <= > >=, and/or; backquote names with spaces.'),
  field('gen-token', 'Admin token', secret, 'Starting a job is a write. sailkg demo prints a link that fills this in; it stays in this tab only.'),
  h('div', { class: 'row' }, submit));
  page('Generate', form, status, h('h2', {}, 'Jobs'), jobs, h('h2', {}, 'Past runs'), runs);
  async function refresh() {
    try {
      const j = await getJson('/api/generate');
      jobs.replaceChildren(j.jobs.length ? table('Jobs', ['job', 'state', 'from', 'method', 'rows', 'run', 'seconds'], j.jobs.map(x => [String(x.id), x.state + (x.error ? ': ' + x.error : ''), x.request.from, x.request.method, String(x.rows ?? x.request.n),
        x.run ? h('a', { href: '#/run/' + encodeURIComponent(x.run) }, x.run) : '', x.seconds ? x.seconds.toFixed(1) : ''])) : h('p', { class: 'muted' }, 'No jobs since the server started.'));
    } catch (e) { jobs.replaceChildren(errorBox(e)); }
    try {
      const c = await getJson('/api/catalog');
      const gen = c.runs.filter(r => r.run.startsWith('urn:sailkg:run:generate/'));
      runs.replaceChildren(gen.length ? table('Past runs', ['run', 'started', 'table'], gen.map(r => [runLink(r), r.started, 'synthetic.' + r.run.slice('urn:sailkg:run:generate/'.length)])) : h('p', { class: 'muted' }, 'No generation runs yet.'));
      if (!from.options.length) {
        const wanted = params.get('from');
        const options = [...c.datasets.map(d => 'source.' + d.name), ...c.classes.map(k => 'kg.' + k.view)];
        from.replaceChildren(...options.map(o => h('option', { value: o, selected: o === wanted }, o)));
      }
    } catch (e) { runs.replaceChildren(errorBox(e)); }
  }
  await refresh();
}

async function watch(id, status) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Training progress' });
  const text = h('p', {}, `Job ${id} queued…`);
  status.replaceChildren(text, bar);
  for (;;) {
    const job = await getJson('/api/generate/' + id);
    if (job.state === 'done') {
      bar.max = 1; bar.value = 1;
      status.replaceChildren(h('p', { class: 'ok' }, `Job ${id} done: ${job.rows} rows in ${job.table}. `,
        h('a', { href: '#/run/' + encodeURIComponent(job.run), id: 'report-link' }, 'Read the report')));
      announce(`Job ${id} done`);
      return;
    }
    if (job.state === 'failed') { status.replaceChildren(errorBox(new Error(`Job ${id} failed: ${job.error}`))); return; }
    if (job.progress) {
      bar.max = job.progress.epochs; bar.value = job.progress.epoch;
      text.textContent = `Job ${id} training: epoch ${job.progress.epoch} of ${job.progress.epochs}, loss ${job.progress.loss.toFixed(4)}, about ${Math.ceil(job.progress.eta_seconds)} s left`;
    } else text.textContent = `Job ${id} ${job.state}…`;
    await new Promise(r => setTimeout(r, 500));
  }
}

async function runPage(run) {
  page(`Run ${run}`);
  try {
    const report = await getJson('/api/runs/' + encodeURIComponent(run) + '/report.json');
    const facts = h('dl', { class: 'facts' });
    for (const [k, v] of Object.entries(report)) if (v !== null && typeof v !== 'object') facts.append(h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, typeof v === 'number' ? fmt(v) : String(v)));
    main.append(facts,
      h('p', {}, h('a', { href: '#/sql?q=' + encodeURIComponent(`SELECT * FROM synthetic.${run} LIMIT 100`) }, 'Query the rows in SQL'), ' · ',
        h('a', { href: '/api/runs/' + encodeURIComponent(run) + '/report.html', target: '_blank', rel: 'noopener' }, 'Open the report in its own tab'), ' · ',
        h('a', { href: '#/entity?iri=' + encodeURIComponent('urn:sailkg:run:generate/' + run) }, 'Provenance')),
      h('h2', {}, 'Evaluation: real against synthetic'),
      h('iframe', { class: 'report', src: '/api/runs/' + encodeURIComponent(run) + '/report.html', title: `Evaluation report of ${run}`, sandbox: '' }));
  } catch (e) { main.append(errorBox(e)); }
}

// ---------------------------------------------------------------- ontology curation

function tokenField(id, help) {
  const input = h('input', { type: 'password', id, value: token.get(), autocomplete: 'off', 'aria-describedby': id + '-help' });
  input.addEventListener('change', () => token.set(input.value.trim()));
  return h('div', {}, h('label', { for: id }, 'Your token'), input, h('p', { class: 'muted', id: id + '-help' }, help));
}

async function ontologyPage() {
  const input = h('input', { type: 'search', id: 'onto-q', autocomplete: 'off', role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': 'onto-suggestions', placeholder: 'class, property or concept' });
  const list = h('ul', { id: 'onto-suggestions', role: 'listbox', 'aria-label': 'Ontology terms', hidden: true });
  const trees = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const newIri = h('input', { type: 'text', id: 'new-class-iri', placeholder: 'IRI of the new class' });
  const newLabel = h('input', { type: 'text', id: 'new-class-label', placeholder: 'label (English)' });
  const newParent = h('input', { type: 'text', id: 'new-class-parent', placeholder: 'optional parent class IRI' });
  const newWhy = h('input', { type: 'text', id: 'new-class-why', placeholder: 'why this class' });
  const newResult = h('div', { role: 'status' });
  const newClass = h('details', { id: 'new-class' }, h('summary', {}, 'Propose a new class'),
    h('div', { class: 'row' }, h('label', { for: 'new-class-iri' }, 'IRI'), newIri, h('label', { for: 'new-class-label' }, 'Label'), newLabel),
    h('div', { class: 'row' }, h('label', { for: 'new-class-parent' }, 'Parent'), newParent, h('label', { for: 'new-class-why' }, 'Why'), newWhy),
    tokenField('new-class-token', 'A curator token proposes; a reviewer approves.'),
    h('button', { type: 'button', id: 'propose-class', onclick: async () => {
      try {
        newResult.replaceChildren(proposedNote(await proposeChanges(newWhy.value, [{ op: 'add_class', iri: newIri.value.trim(), label: newLabel.value.trim(), parent: newParent.value.trim() || null }])));
      } catch (e) { newResult.replaceChildren(errorBox(e)); }
    } }, 'Propose'), newResult);
  page('Ontology', h('div', { class: 'search-box' }, h('label', { for: 'onto-q' }, 'Find a term'), input, list),
    h('p', {}, h('a', { href: '#/proposals' }, 'Proposals and history')), newClass, trees);
  typeahead(input, list, async text => (await getJson('/api/ontology/search?q=' + encodeURIComponent(text))).result
    .map(t => ({ label: t.label, kind: t.kind, href: '#/term?iri=' + encodeURIComponent(t.iri) })), 1);
  try {
    const o = await getJson('/api/ontology');
    const tree = (entries, unit) => {
      const byParent = new Map();
      const known = new Set(entries.map(e => e.iri));
      for (const e of entries) for (const p of (e.parents.filter(p => known.has(p)).length ? e.parents.filter(p => known.has(p)) : [''])) {
        if (!byParent.has(p)) byParent.set(p, []);
        byParent.get(p).push(e);
      }
      const branch = (parent, depth) => h('ul', { class: 'tree', role: depth ? 'group' : 'tree' }, (byParent.get(parent) || []).sort((a, b) => a.label.localeCompare(b.label)).map(e => {
        const label = h('span', {}, h('a', { href: '#/term?iri=' + encodeURIComponent(e.iri) }, e.label), ' ', h('span', { class: 'count' }, `${e.uses} ${unit}`),
          e.deprecated ? h('span', { class: 'badge' }, 'deprecated') : null);
        return h('li', { role: 'treeitem' }, byParent.has(e.iri) && depth < 12 ? h('details', { open: depth < 1 }, h('summary', {}, label), branch(e.iri, depth + 1)) : label);
      }));
      return branch('', 0);
    };
    trees.replaceChildren(
      h('h2', {}, `Classes (${o.classes.length})`), tree(o.classes, 'instances'),
      h('h2', {}, `Properties (${o.properties.length})`), tree(o.properties, 'uses'),
      ...(o.concepts.length ? [h('h2', {}, `Concepts (${o.concepts.length})`), tree(o.concepts, '')] : []));
  } catch (e) { trees.replaceChildren(errorBox(e)); }
}

/** Proposes `changes` with the curator token in the page; returns the change set. */
function proposeChanges(title, changes) {
  return getJson('/api/ontology/changesets', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token.get() }, body: JSON.stringify({ title, changes }) });
}

function proposedNote(set) {
  return h('p', { class: 'ok' }, `Proposed as change set ${set.id}. `, h('a', { href: '#/proposals?id=' + set.id }, 'See it with its impact'));
}

const CONSTRAINTS = ['minInclusive', 'maxInclusive', 'minExclusive', 'maxExclusive', 'minLength', 'maxLength', 'minCount', 'maxCount', 'pattern', 'datatype', 'class'];

async function termPage(params) {
  const iri = params.get('iri') || '';
  page(shortIri(iri) || 'Term');
  if (!safeIri(iri)) { main.append(errorBox(new Error(`Not an IRI: ${JSON.stringify(iri)}`))); return; }
  let e;
  try { e = await getJson('/api/ontology/entity?iri=' + encodeURIComponent(iri)); } catch (error) { main.append(errorBox(error)); return; }
  const first = o => Object.values(o || {}).flat()[0];
  main.querySelector('h1').textContent = (e.labels.en || [])[0] || first(e.labels) || shortIri(iri);
  const pending = [];
  const pendingList = h('ol', { id: 'pending' });
  const addPending = change => { pending.push(change); pendingList.append(h('li', {}, describe(change))); propose.disabled = false; announce('Change added to the proposal'); };
  const langs = (o, name) => table(name, ['language', name], Object.entries(o).flatMap(([l, values]) => values.map(v => [l || '(none)', v])));
  const labelLang = h('input', { type: 'text', id: 'label-lang', value: 'en', class: 'lang' });
  const labelText = h('input', { type: 'text', id: 'label-text' });
  const defLang = h('input', { type: 'text', id: 'def-lang', value: 'en', class: 'lang' });
  const defText = h('input', { type: 'text', id: 'def-text' });
  const cPath = h('input', { type: 'text', id: 'constraint-path', placeholder: 'property IRI' });
  const cKind = h('select', { id: 'constraint-kind' }, CONSTRAINTS.map(c => h('option', { value: c }, c)));
  const cValue = h('input', { type: 'text', id: 'constraint-value' });
  const replaced = h('input', { type: 'text', id: 'replaced-by', placeholder: 'optional IRI' });
  const subIri = h('input', { type: 'text', id: 'subclass-iri', placeholder: 'IRI' });
  const subLabel = h('input', { type: 'text', id: 'subclass-label', placeholder: 'label (English)' });
  const renameTo = h('input', { type: 'text', id: 'rename-to', placeholder: 'new IRI' });
  const mergeInto = h('input', { type: 'text', id: 'merge-into', placeholder: 'IRI of the term to keep' });
  const splitInto = h('textarea', { id: 'split-into', rows: 3, placeholder: 'one new class per line: IRI label' });
  const title = h('input', { type: 'text', id: 'proposal-title', placeholder: 'why this change' });
  const result = h('div', { id: 'proposal-result', role: 'status' });
  const propose = h('button', { type: 'button', id: 'propose', disabled: true, onclick: async () => {
    try {
      const set = await proposeChanges(title.value, pending);
      result.replaceChildren(proposedNote(set));
      pending.length = 0; pendingList.replaceChildren(); propose.disabled = true;
    } catch (error) { result.replaceChildren(errorBox(error)); }
  } }, 'Propose');
  const isClass = e.types.some(t => /Class$/.test(t));
  main.append(h('div', {},
    h('p', { class: 'iri' }, iri),
    e.deprecated ? h('p', { class: 'error' }, 'Deprecated', e.replaced_by.length ? [' — replaced by ', ...e.replaced_by.map(r => entityLink(r))] : '') : null,
    h('dl', { class: 'facts' },
      h('dt', {}, 'types'), h('dd', {}, e.types.map(shortIri).join(', ')),
      h('dt', {}, 'parents'), h('dd', {}, e.parents.length ? e.parents.map(p => h('a', { href: '#/term?iri=' + encodeURIComponent(p) }, shortIri(p) + ' ')) : '—'),
      h('dt', {}, 'children'), h('dd', {}, e.children.length ? e.children.map(p => h('a', { href: '#/term?iri=' + encodeURIComponent(p) }, shortIri(p) + ' ')) : '—'),
      e.domain.length ? [h('dt', {}, 'domain'), h('dd', {}, e.domain.map(shortIri).join(', '))] : null,
      e.range.length ? [h('dt', {}, 'range'), h('dd', {}, e.range.map(shortIri).join(', '))] : null,
      h('dt', {}, 'in the data'), h('dd', {}, isClass ? `${e.usage.instances} instances in ${e.usage.graphs} graphs` : `${e.usage.triples} triples`),
      h('dt', {}, 'generation runs'), h('dd', {}, e.usage.generation_runs.length ? e.usage.generation_runs.map(r => runLink({ run: r.run })) : '—')),
    h('h2', {}, 'Labels'), langs(e.labels, 'label'),
    h('div', { class: 'row' }, h('label', { for: 'label-lang' }, 'Language'), labelLang, h('label', { for: 'label-text' }, 'Label'), labelText,
      h('button', { type: 'button', class: 'secondary', id: 'add-label', onclick: () => labelText.value.trim() && addPending({ op: 'set_label', iri, language: labelLang.value.trim(), text: labelText.value.trim() }) }, 'Set label')),
    h('h2', {}, 'Definitions'), langs(e.definitions, 'definition'),
    h('div', { class: 'row' }, h('label', { for: 'def-lang' }, 'Language'), defLang, h('label', { for: 'def-text' }, 'Definition'), defText,
      h('button', { type: 'button', class: 'secondary', onclick: () => defText.value.trim() && addPending({ op: 'set_definition', iri, language: defLang.value.trim(), text: defText.value.trim() }) }, 'Set definition')),
    h('h2', {}, 'Constraints (SHACL)'),
    e.shapes.length ? table('Constraints', ['shape', 'path', 'constraint', 'value', ''], e.shapes.flatMap(s => s.constraints.map(c => [shortIri(s.shape), entityLink(c.path), c.constraint, c.value,
      isClass ? h('button', { type: 'button', class: 'secondary', onclick: () => addPending({ op: 'remove_constraint', class: iri, path: c.path, constraint: c.constraint }) }, 'Remove') : '']))) : h('p', { class: 'muted' }, 'No constraints.'),
    isClass ? h('div', { class: 'row' }, h('label', { for: 'constraint-path' }, 'Property'), cPath, h('label', { for: 'constraint-kind' }, 'Constraint'), cKind, h('label', { for: 'constraint-value' }, 'Value'), cValue,
      h('button', { type: 'button', class: 'secondary', id: 'add-constraint', onclick: () => cPath.value.trim() && addPending({ op: 'add_constraint', class: iri, path: cPath.value.trim(), constraint: cKind.value, value: cValue.value.trim() }) }, 'Add constraint')) : null,
    isClass ? [h('h2', {}, 'Subclass'),
      h('div', { class: 'row' }, h('label', { for: 'subclass-iri' }, 'New class'), subIri, h('label', { for: 'subclass-label' }, 'Label'), subLabel,
        h('button', { type: 'button', class: 'secondary', id: 'add-subclass', onclick: () => subIri.value.trim() && addPending({ op: 'add_class', iri: subIri.value.trim(), label: subLabel.value.trim(), parent: iri }) }, 'Add subclass'))] : null,
    h('h2', {}, 'Rename, merge, split'),
    h('p', { class: 'muted' }, 'Renaming gives the statements and the references to the new IRI and deprecates this one; merging moves the references to the kept term and keeps this label as an alternative; splitting creates classes under the same parents and deprecates this one. Instances in the data are never changed.'),
    h('div', { class: 'row' }, h('label', { for: 'rename-to' }, 'Rename to'), renameTo,
      h('button', { type: 'button', class: 'secondary', id: 'add-rename', onclick: () => renameTo.value.trim() && addPending({ op: 'rename', iri, to: renameTo.value.trim() }) }, 'Rename')),
    h('div', { class: 'row' }, h('label', { for: 'merge-into' }, 'Merge into'), mergeInto,
      h('button', { type: 'button', class: 'secondary', id: 'add-merge', onclick: () => mergeInto.value.trim() && addPending({ op: 'merge', from: [iri], into: mergeInto.value.trim() }) }, 'Merge')),
    isClass ? h('div', { class: 'row' }, h('label', { for: 'split-into' }, 'Split into'), splitInto,
      h('button', { type: 'button', class: 'secondary', id: 'add-split', onclick: () => {
        const into = splitInto.value.split('\n').map(l => l.trim()).filter(Boolean).map(l => { const [i, ...rest] = l.split(/\s+/); return { iri: i, label: rest.join(' ') || i }; });
        if (into.length) addPending({ op: 'split', iri, into });
      } }, 'Split')) : null,
    h('h2', {}, 'Deprecate'),
    h('div', { class: 'row' }, h('label', { for: 'replaced-by' }, 'Replaced by'), replaced,
      h('button', { type: 'button', class: 'secondary', onclick: () => addPending({ op: 'deprecate', iri, replaced_by: replaced.value.trim() || null }) }, 'Deprecate')),
    h('h2', {}, 'Your proposal'), pendingList,
    h('label', { for: 'proposal-title' }, 'Why'), title, tokenField('curator-token', 'A curator token proposes; a reviewer approves.'),
    h('div', { class: 'row' }, propose), result));
}

function describe(c) {
  switch (c.op) {
    case 'set_label': return `label @${c.language || '–'} = "${c.text}" on ${shortIri(c.iri)}`;
    case 'set_definition': return `definition @${c.language || '–'} = "${c.text}" on ${shortIri(c.iri)}`;
    case 'add_class': return `new class ${shortIri(c.iri)} "${c.label}"` + (c.parent ? ` under ${shortIri(c.parent)}` : '');
    case 'deprecate': return `deprecate ${shortIri(c.iri)}` + (c.replaced_by ? ` for ${shortIri(c.replaced_by)}` : '');
    case 'rename': return `rename ${shortIri(c.iri)} to ${shortIri(c.to)}`;
    case 'add_constraint': return `sh:${c.constraint} ${c.value} on ${shortIri(c.path)} of ${shortIri(c.class)}`;
    case 'remove_constraint': return `remove sh:${c.constraint} on ${shortIri(c.path)} of ${shortIri(c.class)}`;
    case 'merge': return `merge ${c.from.map(shortIri).join(', ')} into ${shortIri(c.into)}`;
    case 'split': return `split ${shortIri(c.iri)} into ${c.into.map(n => shortIri(n.iri)).join(', ')}`;
    case 'accept_link': return `accept the link ${shortIri(c.source)} = ${shortIri(c.target)}`;
    case 'reject_link': return `reject the link ${shortIri(c.source)} ~ ${shortIri(c.target)}`;
    case 'import': return `import ${c.format} into the ${c.shapes ? 'shapes' : 'ontology'} graph (${c.text.length} characters)`;
    default: return JSON.stringify(c);
  }
}

async function proposalsPage(params) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const links = h('div', { id: 'link-review' });
  page('Proposals and history', tokenField('reviewer-token', 'A reviewer token approves, rejects and reverts; nobody approves their own proposal.'), list, links);
  reviewLinks(links);
  const open = Number(params.get('id') || 0);
  const draw = async () => {
    let sets;
    try { sets = (await getJson('/api/ontology/changesets')).changesets; } catch (e) { list.replaceChildren(errorBox(e)); return; }
    if (!sets.length) { list.replaceChildren(h('p', { class: 'muted' }, 'No change sets yet. Propose one from a term of the ', h('a', { href: '#/ontology' }, 'ontology'), '.')); return; }
    list.replaceChildren(...sets.map(set => {
      const comment = h('input', { type: 'text', id: `comment-${set.id}` });
      const status = h('div', { role: 'status' });
      const act = action => h('button', { type: 'button', class: action === 'approve' ? '' : 'secondary', id: `${action}-${set.id}`, onclick: async () => {
        try {
          await getJson(`/api/ontology/changesets/${set.id}/${action}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token.get() }, body: JSON.stringify({ comment: comment.value }) });
          announce(`Change set ${set.id}: ${action} done`);
          await draw();
        } catch (e) { status.replaceChildren(errorBox(e)); }
      } }, action[0].toUpperCase() + action.slice(1));
      const v = set.impact.violations;
      return h('details', { open: set.id === open || set.status === 'proposed', id: `changeset-${set.id}`, class: 'changeset' },
        h('summary', {}, `#${set.id} ${set.title} `, h('span', { class: 'badge', 'data-status': set.status }, set.status), h('span', { class: 'muted' }, ` by ${set.author}, ${set.created}`)),
        h('ol', {}, set.changes.map(c => h('li', {}, describe(c)))),
        h('h3', {}, 'Impact'),
        h('p', {}, `${set.impact.instances} instances of the classes changed, ${set.impact.triples} triples of the properties changed.`),
        set.impact.engine ? h('p', { class: 'shacl-impact' }, `SHACL validation (${set.impact.engine}) of ${set.impact.checked} focus nodes before and after: `,
          h('strong', {}, `${v.reduce((n, x) => n + x.count, 0)} new violations`), `, ${set.impact.resolved} resolved`,
          set.impact.truncated ? ' (a limit cut the validation short: part of the data was checked)' : '', '.') : null,
        v.length ? table('Violations', ['constraint', 'class', 'values that would violate it', 'examples'], v.map(x => [`sh:${x.constraint} ${x.value} on ${shortIri(x.path)}`, x.class ? shortIri(x.class) : '—', String(x.count), x.examples.join('; ')])) : null,
        h('h3', {}, 'Diff'),
        h('pre', { class: 'diff scroll' }, set.diff.removed.map(l => h('span', { class: 'del' }, '- ' + l + '\n')), set.diff.added.map(l => h('span', { class: 'ins' }, '+ ' + l + '\n'))),
        set.review ? h('p', {}, `${set.status === 'rejected' ? 'Rejected' : 'Approved'} by ${set.review.by} at ${set.review.at}${set.review.comment ? ': ' + set.review.comment : ''}`) : null,
        set.revert ? h('p', {}, `Reverted by ${set.revert.by} at ${set.revert.at}${set.revert.comment ? ': ' + set.revert.comment : ''}`) : null,
        set.status === 'proposed' || set.status === 'approved' ? h('div', { class: 'row' }, h('label', { for: `comment-${set.id}` }, 'Comment'), comment,
          set.status === 'proposed' ? [act('approve'), act('reject')] : act('revert')) : null,
        status);
    }));
  };
  await draw();
}

/** The links of the review band (skos:closeMatch), each with buttons that propose accepting or rejecting it. */
async function reviewLinks(box) {
  let rows;
  try {
    rows = (await sparql(`PREFIX sail: <urn:sailkg:vocab#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?s ?t (MAX(?score) AS ?best) WHERE { GRAPH <urn:sailkg:graph:links> { ?s skos:closeMatch ?t OPTIONAL { ?l sail:linkSource ?s ; sail:linkTarget ?t ; sail:score ?score } } }
GROUP BY ?s ?t ORDER BY DESC(?best) LIMIT 200`)).results.bindings;
  } catch (e) { box.replaceChildren(errorBox(e)); return; }
  const status = h('div', { role: 'status' });
  const act = (op, s, t) => h('button', { type: 'button', class: op === 'accept_link' ? '' : 'secondary', onclick: async () => {
    try { status.replaceChildren(proposedNote(await proposeChanges(`${op === 'accept_link' ? 'Accept' : 'Reject'} the suggested link ${shortIri(s)} – ${shortIri(t)}`, [{ op, source: s, target: t }]))); } catch (e) { status.replaceChildren(errorBox(e)); }
  } }, op === 'accept_link' ? 'Propose accepting' : 'Propose rejecting');
  box.replaceChildren(h('h2', {}, 'Links to review'),
    rows.length ? table('Suggested links (skos:closeMatch)', ['source', 'target', 'score', ''], rows.map(r => [entityLink(r.s.value), entityLink(r.t.value), r.best ? fmt(Number(r.best.value)) : '—', h('span', {}, act('accept_link', r.s.value, r.t.value), ' ', act('reject_link', r.s.value, r.t.value))]), [2])
      : h('p', { class: 'muted' }, 'No suggested links wait for review (sailkg link writes those of its review band here).'),
    status);
}

// ---------------------------------------------------------------- routing

function route() {
  const hash = location.hash || '#/';
  const tokenMatch = /^#token=([\w-]+)$/.exec(hash);
  if (tokenMatch) { token.set(tokenMatch[1]); history.replaceState(null, '', '#/'); return route(); }
  const [path, query] = hash.slice(1).split('?');
  const params = new URLSearchParams(query || '');
  const section = path.split('/')[1] || '';
  for (const a of document.querySelectorAll('.top nav a')) {
    const target = a.getAttribute('href').slice(2);
    if (target === section || (target === '' && ['', 'entity'].includes(section)) || (target === 'datasets' && section === 'dataset')
      || (target === 'ontology' && ['term', 'proposals'].includes(section))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const arg = decodeURIComponent(path.split('/').slice(2).join('/'));
  const pages = {
    '': () => searchPage(params), datasets: datasetsPage, dataset: () => datasetPage(arg), entity: () => entityPage(params),
    sparql: () => sparqlPage(params), sql: () => sqlPage(params), generate: () => generatePage(params), run: () => runPage(arg),
    ontology: ontologyPage, term: () => termPage(params), proposals: () => proposalsPage(params),
  };
  const show = pages[section];
  if (!show) { page('Not found', h('p', {}, 'No such page. '), h('a', { href: '#/' }, 'Back to search')); return; }
  Promise.resolve(show()).catch(e => main.append(errorBox(e)));
  if (document.activeElement && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
window.addEventListener('error', e => main.append(errorBox(new Error('The page failed: ' + e.message))));
window.addEventListener('unhandledrejection', e => main.append(errorBox(e.reason || new Error('The page failed'))));
route();
