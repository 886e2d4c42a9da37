// The full map page: commune search and summary, downloads, coverage, layers, legend, embed code, catalogue.
import './style.css';
import { createMap, getJSON, GROUPS, commune, setApiKey, authHeaders } from './map.js';
import { LAYER_TITLES } from './labels.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};
const fr = (n) => Number(n).toLocaleString('fr-FR');

const params = new URLSearchParams(location.search);
const state = { commune: null, member: null };
// The key survives a reload of the tab, not the tab itself.
const KEY_STORE = 'ideo:apikey';
setApiKey(sessionStorage.getItem(KEY_STORE));
const ui = await createMap($('map'));
const { map } = ui;

// ---- layers and legend --------------------------------------------------------------------------

function buildLayerSwitches() {
  const box = $('layer-switches');
  const wanted = params.get('layers')?.split(',');
  for (const g of GROUPS) {
    if (!ui.groups[g]) continue;
    const on = !wanted || g === 'communes' || wanted.includes(g);
    ui.setGroupVisible(g, on);
    const input = el('input', { type: 'checkbox', checked: on, id: `couche-${g}` });
    input.addEventListener('change', () => {
      ui.setGroupVisible(g, input.checked);
      updateEmbed();
    });
    box.append(el('div', { className: 'switch' }, input, el('label', { htmlFor: input.id, textContent: LAYER_TITLES[g] })));
  }
}

function buildLegend() {
  const legend = ui.style.metadata?.['ideo:legend'] ?? {};
  const titles = { ...LAYER_TITLES, clusters: 'Regroupements' };
  const box = $('legend');
  for (const [key, entry] of Object.entries(legend)) {
    const block = el('div', { className: 'legend-block' }, el('h3', { textContent: titles[key] ?? key }));
    if (typeof entry === 'string') {
      block.append(el('p', { textContent: entry }));
    } else {
      const ul = el('ul');
      for (const [swatch, label] of Object.entries(entry)) {
        // "#c" a dot, "ring #c" a ring, "line #c" a line, "hatch #c" a hatched square.
        const kind = swatch.match(/^(ring|line|hatch)\s+/)?.[1];
        const color = swatch.replace(/^(ring|line|hatch)\s+/, '');
        const dot = el('span', { className: kind ? `swatch ${kind}` : 'swatch', ariaHidden: 'true' });
        dot.style.setProperty('--c', color);
        ul.append(el('li', {}, dot, el('span', { textContent: label })));
      }
      block.append(ul);
    }
    box.append(block);
  }
  if (!box.children.length) box.append(el('p', { textContent: 'Ce style ne fournit pas de légende.' }));
}

// ---- commune search -----------------------------------------------------------------------------

const input = $('recherche-commune');
const list = $('resultats-communes');
let hits = [];
let active = -1;
let searchSeq = 0;

function renderHits() {
  list.replaceChildren();
  hits.forEach((h, i) => {
    const li = el('li', {
      id: `commune-${h.insee}`,
      role: 'option',
      className: i === active ? 'active' : '',
      tabIndex: -1,
    }, el('strong', { textContent: h.nom }), ` ${h.insee}${h.postcodes?.length ? ` · ${h.postcodes.join(', ')}` : ''}`);
    li.setAttribute('aria-selected', String(i === active));
    li.addEventListener('click', () => choose(h));
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') choose(h); });
    list.append(li);
  });
  list.hidden = hits.length === 0;
  input.setAttribute('aria-expanded', String(hits.length > 0));
  if (active >= 0 && active < hits.length) input.setAttribute('aria-activedescendant', `commune-${hits[active].insee}`);
  else input.removeAttribute('aria-activedescendant');
}

async function search(q) {
  const seq = ++searchSeq;
  if (!q.trim()) { hits = []; renderHits(); $('search-status').textContent = ''; return; }
  try {
    const found = await getJSON(`/communes/search?q=${encodeURIComponent(q)}&limit=8`);
    if (seq !== searchSeq) return;  // a later keystroke already answered
    hits = found;
    active = hits.length ? 0 : -1;
    renderHits();
    $('search-status').textContent = hits.length ? `${hits.length} commune(s) trouvée(s)` : 'Aucune commune trouvée';
  } catch (e) {
    if (seq === searchSeq) $('search-status').textContent = `Recherche impossible (${e.message})`;
  }
}

let debounce;
input.addEventListener('input', () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => search(input.value), 150);
});
input.addEventListener('keydown', async (e) => {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (!hits.length) return;
    e.preventDefault();
    active = (active + (e.key === 'ArrowDown' ? 1 : hits.length - 1)) % hits.length;
    renderHits();
  } else if (e.key === 'Escape') {
    hits = [];
    renderHits();
  }
});
$('search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearTimeout(debounce);
  if (!hits.length || active < 0) await search(input.value);
  if (hits.length) choose(hits[Math.max(active, 0)]);
});

async function choose(hit) {
  state.commune = hit;
  hits = [];
  active = -1;
  renderHits();
  input.value = hit.nom;
  ui.showCommune(hit);
  const url = new URL(location.href);
  url.searchParams.set('insee', hit.insee);
  history.replaceState(null, '', url);
  $('commune').hidden = false;
  $('titre-commune').textContent = `${hit.nom} (${hit.insee})`;
  updateEmbed();
  resetCoverage();
  await Promise.all([showSummary(hit), showDownloads(hit)]);
}

// ---- summary ------------------------------------------------------------------------------------

// GET /deci/communes/{insee}: {pei: {total, available, compliant, unavailable, check_overdue, below_need,
// without_location}, erp: {total, without_location}, icpe: {total, without_location}, quality: {...}}.
function readSummary(s) {
  const warnings = [];
  const warn = (n, text) => { if (n) warnings.push(`${fr(n)} ${text}`); };
  warn(s.pei.check_overdue, 'PEI sans contrôle récent (ou sans date de contrôle)');
  warn(s.pei.below_need, 'PEI disponibles mais au débit ou volume insuffisant');
  warn(s.pei.without_location, 'PEI sans coordonnées (absents de la carte)');
  warn(s.erp.without_location, 'ERP sans coordonnées (absents de la carte)');
  warn(s.icpe.without_location, 'ICPE sans coordonnées (absents de la carte)');
  return {
    total: s.pei.total, available: s.pei.available, compliant: s.pei.compliant, unavailable: s.pei.unavailable,
    erp: s.erp.total, icpe: s.icpe.total, warnings,
  };
}

async function showSummary(hit) {
  const dl = $('commune-counts');
  const warn = $('commune-warnings');
  dl.replaceChildren(el('dt', { textContent: 'Chargement…' }));
  warn.replaceChildren();
  let s;
  try {
    s = readSummary(await getJSON(`/deci/communes/${hit.insee}`));
  } catch (e) {
    dl.replaceChildren(el('dt', { textContent: `Résumé indisponible (${e.message})` }));
    return;
  }
  if (state.commune !== hit) return;
  const rows = [
    ['PEI', s.total, 'pei-total'],
    ['dont disponibles', s.available, 'pei-available'],
    ['dont conformes', s.compliant, 'pei-compliant'],
    ['dont indisponibles', s.unavailable, 'pei-unavailable'],
    ['ERP', s.erp, 'erp-total'],
    ['ICPE', s.icpe, 'icpe-total'],
  ];
  dl.replaceChildren(...rows.flatMap(([label, v, key]) => {
    const dd = el('dd', { textContent: v === undefined ? '—' : fr(v) });
    dd.dataset.count = key;
    return [el('dt', { textContent: label }), dd];
  }));
  if (s.warnings.length) {
    warn.append(el('h3', { textContent: 'Qualité des données' }),
      el('ul', {}, ...s.warnings.map((w) => el('li', { textContent: w }))));
  }
}

// ---- downloads ----------------------------------------------------------------------------------

const DOWNLOADS = [
  ['extract.xlsx', 'Tableur Excel (XLSX)'],
  ['extract.ods', 'Tableur OpenDocument (ODS)'],
  ['extract.csv', 'CSV'],
  ['extract.geojson', 'GeoJSON'],
  ['extract.gpkg', 'GeoPackage (QGIS)'],
  ['extract.shp.zip', 'Shapefile (zip)'],
  ['extract.kml', 'KML (Google Earth)'],
  ['arrete.docx', "Projet d'arrêté municipal DECI (Word)"],
];

// The server makes a file when it is asked for, not to show its button. PEI downloads need a credential:
// a member's link fetches the file with the key and saves it through a Blob, under the server's file name.
function showDownloads(hit) {
  const box = $('downloads');
  if (!state.member) {
    box.replaceChildren(el('li', { className: 'reserved', textContent:
      'Extractions des PEI et projet d’arrêté : réservés aux membres de la commune, au SDIS et au portail.' }));
    return;
  }
  box.replaceChildren(...DOWNLOADS.map(([file, label]) => {
    const a = el('a', {
      href: `/deci/communes/${hit.insee}/${file}`,
      download: '',
      className: 'button',
      textContent: label,
      ariaLabel: `Télécharger ${label} pour ${hit.nom}`,
    });
    a.addEventListener('click', (e) => { e.preventDefault(); download(a.href, file); });
    return el('li', {}, a);
  }));
}

// RFC 6266: filename*=UTF-8''... first, then the plain filename="...".
function dispositionName(header) {
  const star = header?.match(/filename\*=UTF-8''([^;]+)/i);
  if (star) { try { return decodeURIComponent(star[1]); } catch { /* the plain name below */ } }
  return header?.match(/filename="([^"]+)"/i)?.[1] ?? null;
}

async function download(href, fallback) {
  const status = $('download-status');
  status.textContent = 'Préparation du fichier…';
  try {
    const res = await fetch(href, { headers: authHeaders() });
    if (!res.ok) throw new Error(res.status === 401 || res.status === 403 ? `accès refusé, HTTP ${res.status}` : `HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: dispositionName(res.headers.get('Content-Disposition')) ?? fallback });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    status.textContent = '';
  } catch (e) {
    status.textContent = `Téléchargement impossible (${e.message}).`;
  }
}

// ---- member access ------------------------------------------------------------------------------

// GET /whoami answers an identified caller's {role, organisation, ...}; anonymous gets 401.
async function signIn(key) {
  setApiKey(key);
  try {
    state.member = await getJSON('/whoami');
    sessionStorage.setItem(KEY_STORE, key);
  } catch (e) {
    setApiKey(null);
    state.member = null;
    sessionStorage.removeItem(KEY_STORE);
    throw e;
  }
}

const ROLES = { member: 'membre', sdis: 'SDIS', ars: 'ARS', admin: 'administrateur' };

function showMember() {
  const signedIn = state.member !== null;
  $('member-form').hidden = signedIn;
  $('member-signed-in').hidden = !signedIn;
  if (signedIn) $('member-who').textContent = `Connecté : ${state.member.organisation} (${ROLES[state.member.role] ?? state.member.role})`;
  if (state.commune) showDownloads(state.commune);
}

$('member-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const field = $('member-key');
  const status = $('member-status');
  const key = field.value.trim();
  if (!key) { status.textContent = 'Saisissez votre clé d’accès.'; return; }
  status.textContent = 'Vérification…';
  try {
    await signIn(key);
    field.value = '';
    status.textContent = '';
  } catch (err) {
    status.textContent = err.status === 401 ? 'Clé refusée : elle est inconnue, révoquée ou expirée.'
      : `Connexion impossible (${err.message}).`;
  }
  showMember();
});

$('member-sign-out').addEventListener('click', () => {
  setApiKey(null);
  state.member = null;
  sessionStorage.removeItem(KEY_STORE);
  $('member-status').textContent = 'Déconnecté.';
  showMember();
});

// ---- coverage -----------------------------------------------------------------------------------

function resetCoverage() {
  document.querySelector('input[name="coverage"][value=""]').checked = true;
  ui.setCoverage(null);
  $('coverage-status').textContent = '';
}

for (const radio of document.querySelectorAll('input[name="coverage"]')) {
  radio.addEventListener('change', async () => {
    const mode = radio.value;
    const status = $('coverage-status');
    ui.setCoverage(null);
    if (!mode || !state.commune) { status.textContent = ''; return; }
    status.textContent = 'Calcul de la couverture…';
    try {
      const cov = await getJSON(`/deci/communes/${state.commune.insee}/coverage?mode=${mode}`);
      const tiled = mode === 'straight' && ui.hasTiledCoverage;
      ui.setCoverage(cov, { tiled });
      const share = cov.summary?.covered_share;
      const notCovered = cov.summary?.risks?.total - cov.summary?.risks?.covered;
      status.textContent = [
        share === undefined ? null : `Part du territoire couverte : ${Math.round(share * 100)} %`,
        Number.isFinite(notCovered) ? `ERP/ICPE non couverts : ${notCovered} (cerclés de rouge)` : null,
        tiled ? 'Zones non couvertes hachurées, pour toutes les communes visibles dès le zoom 10' : null,
        cov.summary?.label,
      ].filter(Boolean).join('. ');
    } catch (e) {
      status.textContent = e.status === 404 || e.status === 501
        ? 'La couverture n’est pas disponible pour cette commune.'
        : `Couverture impossible (${e.message}).`;
    }
  });
}

// ---- embed code ---------------------------------------------------------------------------------

function updateEmbed() {
  const layers = GROUPS.filter((g) => g !== 'communes' && ui.groups[g] && ui.isGroupVisible(g));
  const q = new URLSearchParams({ layers: layers.join(',') });
  if (state.commune) q.set('insee', state.commune.insee);
  const title = state.commune ? `Carte DECI de ${state.commune.nom}` : 'Carte DECI';
  $('embed-code').value = `<iframe src="${location.origin}/map/embed?${q.toString().replace(/%2C/g, ',')}" `
    + `title="${title.replace(/"/g, '&quot;')}" width="100%" height="450" style="border:0" loading="lazy"></iframe>`;
}

$('embed-copy').addEventListener('click', async () => {
  const area = $('embed-code');
  try {
    await navigator.clipboard.writeText(area.value);
  } catch {
    area.select();
    document.execCommand('copy');  // clipboard API refused (plain http): the old way still works
  }
  $('embed-status').textContent = 'Code copié.';
});

// ---- catalogue ----------------------------------------------------------------------------------

const facetsChosen = new Map();

// GET /catalog/records answers facets as {themes: [{value, count}], publishers: [...], keywords, formats};
// each facet filters with its singular parameter.
const FACETS = {
  themes: { title: 'Thème', param: 'theme' },
  publishers: { title: 'Producteur', param: 'publisher' },
  keywords: { title: 'Mot-clé', param: 'keyword' },
  formats: { title: 'Format', param: 'format' },
};

async function searchCatalog() {
  const q = new URLSearchParams({ limit: '20' });
  const text = $('catalog-q').value.trim();
  if (text) q.set('q', text);
  for (const [k, v] of facetsChosen) q.set(k, v);
  const status = $('catalog-status');
  status.textContent = 'Recherche…';
  let res;
  try {
    res = await getJSON(`/catalog/records?${q}`);
  } catch (e) {
    status.textContent = `Catalogue indisponible (${e.message}).`;
    return;
  }
  const records = res.records;
  status.textContent = `${fr(res.numberMatched)} jeu(x) de données`;
  // A forgiving search says so: records holding only some of the words, words read through a typo.
  if (res.match === 'partial') {
    status.textContent += res.numberMatchedAllWords
      ? ` (${fr(res.numberMatchedAllWords)} avec tous les mots, puis ceux qui en ont le plus)`
      : ' : aucun ne contient tous les mots ; voici ceux qui en contiennent le plus';
  }
  const facetBox = $('catalog-facets');
  facetBox.replaceChildren();
  for (const [name, { title, param }] of Object.entries(FACETS)) {
    const values = res.facets?.[name] ?? [];
    if (!values.length) continue;
    const group = el('div', { className: 'facet' }, el('h3', { textContent: title }));
    for (const { value, count } of values.slice(0, 8)) {
      const chosen = facetsChosen.get(param) === value;
      const b = el('button', { type: 'button', className: chosen ? 'chip chosen' : 'chip', textContent: `${value} (${count})` });
      b.setAttribute('aria-pressed', String(chosen));
      b.dataset.facet = param;
      b.addEventListener('click', () => {
        if (chosen) facetsChosen.delete(param); else facetsChosen.set(param, value);
        searchCatalog();
      });
      group.append(b);
    }
    facetBox.append(group);
  }
  $('catalog-results').replaceChildren(...records.map((r) => {
    const description = r.description ?? '';
    const li = el('li', {},
      el('strong', { textContent: r.title || r.id }),
      r.publisher ? el('span', { className: 'publisher', textContent: ` — ${r.publisher}` }) : null,
      description ? el('p', { textContent: description.slice(0, 220) + (description.length > 220 ? '…' : '') }) : null,
      matchNote(r.match));
    if (r.feeds_layer && ui.groups[r.feeds_layer]) {
      const b = el('button', { type: 'button', className: 'button small', textContent: `Voir sur la carte : ${LAYER_TITLES[r.feeds_layer] ?? r.feeds_layer}` });
      b.addEventListener('click', () => showLayer(r.feeds_layer));
      li.append(b);
    }
    return li;
  }));
}

// "sans : reglement · urbanisem → urbanisme": what a record lacks of the query, and what it holds through a typo.
function matchNote(match) {
  if (!match) return null;
  const parts = [];
  if (match.missing?.length) parts.push(`sans : ${match.missing.join(', ')}`);
  for (const [word, as] of Object.entries(match.corrected ?? {})) parts.push(`${word} → ${as}`);
  return parts.length ? el('p', { className: 'match-note', textContent: parts.join(' · ') }) : null;
}

async function showLayer(layer) {
  ui.setGroupVisible(layer, true);
  const box = $(`couche-${layer}`);
  if (box) box.checked = true;
  updateEmbed();
  try {
    const c = await getJSON(`/collections/${layer}`);
    const b = c.extent?.spatial?.bbox?.[0];
    if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30 });
  } catch { /* the layer is shown where the map already is */ }
  map.getCanvas().focus();
}

$('catalog-form').addEventListener('submit', (e) => {
  e.preventDefault();
  searchCatalog();
});

// The catalogue section shows only when the server has a catalogue.
fetch('/catalog/records?limit=1', { method: 'HEAD', headers: authHeaders() }).then((r) => { if (!r.ok) $('catalogue').hidden = true; })
  .catch(() => { $('catalogue').hidden = true; });

// ---- start --------------------------------------------------------------------------------------

if (sessionStorage.getItem(KEY_STORE)) {
  // A key kept from earlier in this tab: checked again, dropped if the server no longer knows it.
  await signIn(sessionStorage.getItem(KEY_STORE)).catch(() => {});
}
showMember();
buildLayerSwitches();
buildLegend();
updateEmbed();
if (params.get('insee')) {
  commune(params.get('insee')).then((hit) => hit && choose(hit)).catch(() => {});
}
document.body.dataset.ready = 'true';
