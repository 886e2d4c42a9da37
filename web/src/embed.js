// The chrome-less map for a commune's website: /map/embed?layers=pei,erp&insee=21231.
import './style.css';
import { createMap, GROUPS, commune } from './map.js';

const params = new URLSearchParams(location.search);
const ui = await createMap(document.getElementById('map'));
const wanted = (params.get('layers') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
if (wanted.length) for (const g of GROUPS) if (g !== 'communes') ui.setGroupVisible(g, wanted.includes(g));

// A link back to the full page, where the mayor's downloads are.
class FullMapLink {
  onAdd() {
    const a = document.createElement('a');
    a.className = 'maplibregl-ctrl maplibregl-ctrl-group full-map-link';
    a.href = `/map${location.search}`;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = 'Carte complète';
    return a;
  }
  onRemove() {}
}
ui.map.addControl(new FullMapLink(), 'top-left');

const insee = params.get('insee');
if (insee) {
  try {
    const hit = await commune(insee);
    if (hit) ui.showCommune(hit, { animate: false });
  } catch { /* the embed still shows the whole map */ }
}
document.body.dataset.ready = 'true';
