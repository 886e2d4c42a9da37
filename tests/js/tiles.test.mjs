// Our vector tiles and styles read by the clients web maps use: @mapbox/vector-tile decodes the
// tiles, @maplibre/maplibre-gl-style-spec validates the styles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { VectorTile } from '@mapbox/vector-tile';
import Pbf from 'pbf';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { belfortStore, serve, ideo, data, tileOf, tileBounds } from './support.mjs';

let fixture, server;
before(async () => {
  fixture = belfortStore();
  server = await serve(fixture.store);
});
after(() => {
  server?.stop();
  fixture?.cleanup();
});

async function tile(path, headers = {}) {
  const res = await fetch(server.base + path, { headers });
  const body = new Uint8Array(await res.arrayBuffer());
  return { res, tile: res.status === 200 ? new VectorTile(new Pbf(body)) : null };
}

async function items(query) {
  const ids = new Map();
  let url = `${server.base}/collections/pei/items?limit=10000&${query}`;
  while (url) {
    const page = await (await fetch(url)).json();
    for (const f of page.features) ids.set(f.id, f.geometry);
    url = page.links.find((l) => l.rel === 'next')?.href;
  }
  return ids;
}

test('a PEI tile holds exactly the features of its buffered extent, within a pixel', async () => {
  const t = tileOf(6.8628, 47.638, 15);
  const { res, tile: vt } = await tile(`/tiles/pei/${t.z}/${t.x}/${t.y}.mvt`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/vnd.mapbox-vector-tile');
  const layer = vt.layers.pei;
  assert.equal(layer.extent, 4096);
  const decoded = new Map();
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    decoded.set(f.properties.id, f.toGeoJSON(t.x, t.y, t.z).geometry.coordinates);
  }
  const expected = await items(`bbox=${tileBounds(t, 64).join(',')}`);
  assert.deepEqual([...decoded.keys()].sort(), [...expected.keys()].sort());
  assert.ok(decoded.size > 5);
  const pixel = 360 / 2 ** t.z / 4096;  // one tile unit in degrees of longitude
  for (const [id, [lon, lat]] of decoded) {
    const [elon, elat] = expected.get(id).coordinates;
    assert.ok(Math.abs(lon - elon) <= pixel, `${id} lon ${lon} vs ${elon}`);
    assert.ok(Math.abs(lat - elat) <= pixel, `${id} lat ${lat} vs ${elat}`);
  }
});

test('clusters at department scale add up to the located PEI they replace', async () => {
  const located = (await items('bbox=-180,-90,180,90')).size;
  const z = 9;
  const a = tileOf(6.7, 47.85, z);
  const b = tileOf(7.2, 47.4, z);
  let total = 0;
  for (let x = a.x; x <= b.x; x++) {
    for (let y = a.y; y <= b.y; y++) {
      const { res, tile: vt } = await tile(`/tiles/pei/${z}/${x}/${y}.mvt`);
      if (res.status === 204) continue;
      const layer = vt.layers.pei;
      for (let i = 0; i < layer.length; i++) {
        const p = layer.feature(i).properties;
        total += p.point_count ?? 1;
        if (p.cluster) {
          assert.ok(p.available_share >= 0 && p.available_share <= 1);
          assert.ok(p.compliant_count <= p.available_count, 'a compliant PEI is an available one');
        }
      }
    }
  }
  assert.equal(total, located);
});

test('polygons decode with exterior rings first and valid winding', async () => {
  const t = tileOf(6.8628, 47.638, 12);
  const { tile: vt } = await tile(`/tiles/communes,pei/${t.z}/${t.x}/${t.y}.mvt`);
  assert.ok(vt.layers.communes.length > 0);
  assert.ok(vt.layers.pei.length > 0, 'several layers in one tile');
  for (let i = 0; i < vt.layers.communes.length; i++) {
    const f = vt.layers.communes.feature(i);
    assert.equal(f.type, 3);
    const g = f.toGeoJSON(t.x, t.y, t.z).geometry;
    assert.ok(['Polygon', 'MultiPolygon'].includes(g.type));
  }
});

test('empty tiles are 204, tiles outside the matrix 404, bad numbers 400, unknown layers 404', async () => {
  assert.equal((await fetch(`${server.base}/tiles/pei/14/0/0.mvt`)).status, 204);
  assert.equal((await fetch(`${server.base}/tiles/pei/3/8/1.mvt`)).status, 404);
  assert.equal((await fetch(`${server.base}/tiles/pei/23/0/0.mvt`)).status, 404);
  const bad = await fetch(`${server.base}/tiles/pei/a/0/0.mvt`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).description, /^z:/);
  assert.equal((await fetch(`${server.base}/tiles/hydrants/3/1/1.mvt`)).status, 404);
  const t = tileOf(6.8628, 47.638, 15);
  assert.equal((await fetch(`${server.base}/collections/pei/tiles/WebMercatorQuad/${t.z}/${t.y}/${t.x}`)).status, 200);
  assert.equal((await fetch(`${server.base}/collections/pei/tiles/WorldCRS84Quad/1/0/0`)).status, 404);
});

test('TileJSON 3 and the OGC tileset metadata describe the layers', async () => {
  const tj = await (await fetch(`${server.base}/tiles/communes,pei,erp.json`)).json();
  assert.equal(tj.tilejson, '3.0.0');
  assert.equal(tj.tiles[0], `${server.base}/tiles/communes,pei,erp/{z}/{x}/{y}.mvt`);
  assert.deepEqual(tj.vector_layers.map((l) => l.id), ['communes', 'pei', 'erp']);
  assert.ok(tj.bounds[0] > 6 && tj.bounds[2] < 8, 'bounds around the Territoire de Belfort');
  assert.equal(tj.vector_layers[1].fields.debit, 'Number');
  const ts = await (await fetch(`${server.base}/collections/pei/tiles/WebMercatorQuad`)).json();
  assert.equal(ts.dataType, 'vector');
  assert.ok(ts.links.some((l) => l.rel === 'item' && l.href.endsWith('/{tileMatrix}/{tileRow}/{tileCol}')));
  const tms = await (await fetch(`${server.base}/tileMatrixSets/WebMercatorQuad`)).json();
  assert.equal(tms.tileMatrices.length, 23);
});

test('the styles are valid MapLibre styles pointing at this server', async () => {
  for (const id of ['deci', 'pei']) {
    const style = await (await fetch(`${server.base}/styles/${id}`)).json();
    assert.deepEqual(validateStyleMin(style).map((e) => e.message), [], `style ${id}`);
    const tj = await (await fetch(style.sources.ideo.url)).json();
    const layers = new Set(tj.vector_layers.map((l) => l.id));
    for (const l of style.layers) if (l['source-layer']) assert.ok(layers.has(l['source-layer']), l.id);
  }
  assert.equal((await fetch(`${server.base}/styles/nope`)).status, 404);
});

test('tiles are gzipped once and cached, and a new publish changes the ETag', async () => {
  const t = tileOf(6.8628, 47.638, 14);
  const path = `${server.base}/tiles/pei,erp/${t.z}/${t.x}/${t.y}.mvt`;
  const first = await fetch(path, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(first.headers.get('content-encoding'), 'gzip');
  const etag = first.headers.get('etag');
  assert.equal((await fetch(path, { headers: { 'if-none-match': etag } })).status, 304);
  const version = (await (await fetch(`${server.base}/health`)).json()).snapshot_version;
  ideo(['import', 'erp', data('deci/erp-90-prefecture.csv'), '--store', fixture.store]);
  let now = version;
  for (let i = 0; i < 100 && now === version; i++) {
    await new Promise((r) => setTimeout(r, 100));
    now = (await (await fetch(`${server.base}/health`)).json()).snapshot_version;
  }
  assert.notEqual(now, version);
  const after = await fetch(path, { headers: { 'if-none-match': etag } });
  assert.equal(after.status, 200);
  assert.notEqual(after.headers.get('etag'), etag);
});
