// The map shared by the full page and the embed: our MapLibre style, layer groups, popups,
// the selected commune's outline and the coverage overlay.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import { popupContent } from './labels.js';

export { maplibregl };

// The member's API key (null: anonymous), sent with every request of the page to its own server.
// Only the full page sets it: the embed stays anonymous.
let apiKey = null;
export function setApiKey(key) { apiKey = key || null; }
export const authHeaders = (headers = {}) => (apiKey ? { ...headers, Authorization: `Bearer ${apiKey}` } : headers);
const sameOrigin = (url) => new URL(url, location.href).origin === location.origin;

// The server answering the page is the API: every path is relative to it.
export async function getJSON(path) {
  const res = await fetch(path, { headers: authHeaders({ Accept: 'application/json' }) });
  if (!res.ok) {
    const err = new Error(`${path} : HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

export const GROUPS = ['communes', 'pei', 'erp', 'icpe'];
const ID_FIELDS = { pei: 'id_sdis', erp: 'id', icpe: 'id' };
const CLICKABLE = ['pei', 'erp', 'icpe'];

// Style layer ids per source layer ("pei" -> ["pei-clusters", "pei"]).
function groupLayers(style) {
  const groups = {};
  for (const l of style.layers) {
    if (l['source-layer']) (groups[l['source-layer']] ??= []).push(l.id);
  }
  return groups;
}

export function commune(insee) {
  return getJSON(`/communes/search?q=${encodeURIComponent(insee)}&limit=1`).then((hits) =>
    hits.find((h) => h.insee === insee) ?? null);
}

export async function createMap(container, { styleId = 'deci' } = {}) {
  const style = await getJSON(`/styles/${styleId}`);
  const groups = groupLayers(style);
  const vectorSource = Object.keys(style.sources)[0];
  const map = new maplibregl.Map({
    container,
    style,
    attributionControl: { compact: true },
    maxZoom: 19,
    // Tiles, glyphs and sprites of this server carry the key too; other origins never see it.
    transformRequest: (url) => (apiKey && sameOrigin(url) ? { url, headers: authHeaders() } : { url }),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 140 }), 'bottom-left');
  map.getCanvas().setAttribute('aria-label', 'Carte : flèches pour se déplacer, + et - pour zoomer');

  await new Promise((resolve) => map.once('load', resolve));

  // The selected commune's outline, above the commune polygons (the communes layer also holds label points).
  const firstPoint = style.layers.find((l) => CLICKABLE.includes(l['source-layer']))?.id;
  const selected = (insee) => ['all', ['!=', ['geometry-type'], 'Point'], ['==', ['get', 'code'], insee]];
  map.addLayer({
    id: 'commune-selected',
    type: 'line',
    source: vectorSource,
    'source-layer': 'communes',
    filter: selected(''),
    paint: { 'line-color': '#c2185b', 'line-width': 3 },
  }, firstPoint);

  // Straight-line gaps come hatched from the style's coverage tiles (every commune in view); they stay
  // hidden until asked for. Road coverage is computed per commune on demand: drawn from its GeoJSON.
  const tiledCoverage = groups.coverage ?? [];
  for (const id of tiledCoverage) map.setLayoutProperty(id, 'visibility', 'none');
  map.addSource('coverage-commune', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  const polygons = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
  map.addLayer({ id: 'coverage-uncovered', type: 'fill', source: 'coverage-commune', filter: polygons,
    paint: { 'fill-color': '#d7191c', 'fill-opacity': 0.28 } }, firstPoint);
  map.addLayer({ id: 'coverage-uncovered-outline', type: 'line', source: 'coverage-commune', filter: polygons,
    paint: { 'line-color': '#a50f15', 'line-width': 1 } }, firstPoint);
  map.addLayer({ id: 'coverage-risks', type: 'circle', source: 'coverage-commune',
    filter: ['all', ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]], ['==', ['get', 'covered'], false]],
    paint: { 'circle-radius': 9, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#a50f15', 'circle-stroke-width': 2.5 } });

  const clickable = CLICKABLE.flatMap((g) => groups[g] ?? []);
  const popup = new maplibregl.Popup({ maxWidth: '320px', focusAfterOpen: true });

  map.on('click', async (e) => {
    const [f] = map.queryRenderedFeatures(e.point, { layers: clickable.filter((id) => map.getLayer(id)) });
    if (!f) return;
    const layer = f.sourceLayer;
    popup.setLngLat(f.geometry.type === 'Point' ? f.geometry.coordinates : e.lngLat)
      .setDOMContent(popupContent(layer, f.properties)).addTo(map);
    const id = f.properties[ID_FIELDS[layer]];
    if (f.properties.cluster || id === undefined) return;
    // Tiles carry a few fields; the feature itself has them all.
    try {
      const full = await getJSON(`/collections/${layer}/items/${encodeURIComponent(id)}`);
      if (popup.isOpen()) popup.setDOMContent(popupContent(layer, { ...f.properties, ...full.properties }));
    } catch {
      // The tile's fields are already shown.
    }
  });
  map.on('mousemove', (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: clickable.filter((id) => map.getLayer(id)) }).length > 0;
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });

  const api = {
    map,
    style,
    groups,
    popup,
    setGroupVisible(group, visible) {
      for (const id of groups[group] ?? []) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    },
    isGroupVisible(group) {
      const ids = groups[group] ?? [];
      return ids.length > 0 && ids.every((id) => map.getLayoutProperty(id, 'visibility') !== 'none');
    },
    showCommune(hit, { animate = true } = {}) {
      map.setFilter('commune-selected', selected(hit ? hit.insee : ''));
      if (hit?.bbox) map.fitBounds([[hit.bbox[0], hit.bbox[1]], [hit.bbox[2], hit.bbox[3]]], { padding: 40, animate, maxZoom: 15 });
    },
    // A commune's coverage answer (null: none shown); tiled: its gaps are drawn from the coverage tiles,
    // the answer only adds the risks left uncovered.
    setCoverage(geojson, { tiled = false } = {}) {
      const on = tiled && tiledCoverage.length > 0;
      for (const id of tiledCoverage) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
      const features = (geojson?.features ?? []).filter((f) => !(on && /Polygon$/.test(f.geometry?.type ?? '')));
      map.getSource('coverage-commune').setData({ type: 'FeatureCollection', features });
    },
    hasTiledCoverage: tiledCoverage.length > 0,
  };
  // For the browser tests and the curious: the live map and its helpers.
  window.ideo = api;
  return api;
}
