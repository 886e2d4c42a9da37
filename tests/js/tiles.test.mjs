// Our vector tiles and styles read by the clients web maps use: @mapbox/vector-tile decodes the
// tiles, @maplibre/maplibre-gl-style-spec validates the styles, pbf decodes the glyph ranges from
// their .proto, GDAL reads the sprite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VectorTile } from '@mapbox/vector-tile';
import Pbf from 'pbf';
import { compile } from 'pbf/compile';
import protoSchema from 'protocol-buffers-schema';
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

// The non-empty tiles of `layers` over a lon/lat box at zoom z: {x, y, vt}.
async function* tilesOver(layers, [w, s, e, n], z) {
  const a = tileOf(w, n, z);
  const b = tileOf(e, s, z);
  for (let x = a.x; x <= b.x; x++) {
    for (let y = a.y; y <= b.y; y++) {
      const { res, tile: vt } = await tile(`/tiles/${layers}/${z}/${x}/${y}.mvt`);
      if (res.status !== 204) yield { x, y, vt };
    }
  }
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
  let total = 0;
  for await (const { vt } of tilesOver('pei', [6.7, 47.4, 7.2, 47.85], 9)) {
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
  assert.equal(total, located);
});

test('polygons decode with exterior rings first and valid winding', async () => {
  const t = tileOf(6.8628, 47.638, 12);
  const { tile: vt } = await tile(`/tiles/communes,pei/${t.z}/${t.x}/${t.y}.mvt`);
  assert.ok(vt.layers.communes.length > 0);
  assert.ok(vt.layers.pei.length > 0, 'several layers in one tile');
  let polygons = 0;
  for (let i = 0; i < vt.layers.communes.length; i++) {
    const f = vt.layers.communes.feature(i);
    if (f.type === 1) continue;  // a label point (next test)
    assert.equal(f.type, 3);
    const g = f.toGeoJSON(t.x, t.y, t.z).geometry;
    assert.ok(['Polygon', 'MultiPolygon'].includes(g.type));
    polygons++;
  }
  assert.ok(polygons > 0);
});

// Ray casting over every ring: inside an odd number of them.
function inside([x, y], polygon) {
  let odd = false;
  for (const ring of polygon.type === 'Polygon' ? polygon.coordinates : polygon.coordinates.flat()) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
    }
  }
  return odd;
}

test('each commune has one label point per zoom, inside the commune', async () => {
  const communes = await (await fetch(`${server.base}/collections/communes/items?limit=1000`)).json();
  const z = 11;
  const { bounds } = await (await fetch(`${server.base}/tiles/communes.json`)).json();
  const labels = new Map();
  for await (const { x, y, vt } of tilesOver('communes', bounds, z)) {
    for (let i = 0; i < vt.layers.communes.length; i++) {
      const f = vt.layers.communes.feature(i);
      if (f.type !== 1) continue;
      const code = f.properties.code;
      assert.ok(!labels.has(code), `commune ${code} labelled twice`);
      labels.set(code, f.toGeoJSON(x, y, z).geometry.coordinates);
      assert.ok(f.properties.nom, 'the label point carries the name');
    }
  }
  assert.ok(communes.features.length > 90);
  for (const c of communes.features) {
    assert.ok(labels.has(c.properties.code), `no label point for ${c.properties.code}`);
    assert.ok(inside(labels.get(c.properties.code), c.geometry), `label of ${c.properties.code} outside it`);
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

test('the styles are valid MapLibre styles whose sources, fonts and sprite this server serves', async () => {
  for (const id of ['deci', 'pei']) {
    const style = await (await fetch(`${server.base}/styles/${id}`)).json();
    assert.deepEqual(validateStyleMin(style).map((e) => e.message), [], `style ${id}`);
    const sourceLayers = {};
    for (const [name, source] of Object.entries(style.sources)) {
      const tj = await (await fetch(source.url)).json();
      sourceLayers[name] = new Set(tj.vector_layers.map((l) => l.id));
    }
    const images = style.sprite ? await (await fetch(`${style.sprite}.json`)).json() : {};
    for (const l of style.layers) {
      if (l['source-layer']) assert.ok(sourceLayers[l.source].has(l['source-layer']), l.id);
      const font = l.layout?.['text-font'];
      if (font) {
        assert.ok(style.glyphs.startsWith(server.base), `${id}: glyphs at this server`);
        const url = style.glyphs.replace('{fontstack}', font.join(',')).replace('{range}', '0-255');
        assert.equal((await fetch(url)).status, 200, `${l.id}: ${url}`);
      }
      const pattern = l.paint?.['fill-pattern'];
      if (pattern) assert.ok(images[pattern], `${l.id}: ${pattern} missing from the sprite`);
    }
    assert.ok(style.layers.some((l) => l.id === 'communes-label'), `${id} labels the communes`);
  }
  assert.equal((await fetch(`${server.base}/styles/nope`)).status, 404);
});

// glyphs.proto, as MapLibre reads glyph ranges.
const GLYPHS_PROTO = `
message glyph { required uint32 id = 1; optional bytes bitmap = 2; required uint32 width = 3; required uint32 height = 4;
                required sint32 left = 5; required sint32 top = 6; required uint32 advance = 7; }
message fontstack { required string name = 1; required string range = 2; repeated glyph glyphs = 3; }
message glyphs { repeated fontstack stacks = 1; }`;
const { readglyphs } = compile(protoSchema.parse(GLYPHS_PROTO));
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

// The codepoints fontconfig finds in a font file, read independently of the server.
function fontCharset(file) {
  const r = spawnSync('fc-query', ['--format', '%{charset}', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const set = new Set();
  for (const part of r.stdout.trim().split(/\s+/)) {
    const [lo, hi = lo] = part.split('-').map((h) => parseInt(h, 16));
    for (let c = lo; c <= hi; c++) set.add(c);
  }
  return set;
}

async function glyphRange(stack, range, headers = {}) {
  const res = await fetch(`${server.base}/fonts/${encodeURIComponent(stack)}/${range}.pbf`, { headers });
  const body = new Uint8Array(await res.arrayBuffer());
  return { res, msg: res.status === 200 ? readglyphs(new Pbf(body)) : null };
}

test("glyph ranges hold the font's codepoints as SDF bitmaps sized to their glyphs", async () => {
  const { res, msg } = await glyphRange('DejaVu Sans Book', '0-255', { 'accept-encoding': 'gzip' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.equal(msg.stacks.length, 1);
  const [stack] = msg.stacks;
  assert.equal(stack.name, 'DejaVu Sans Book');
  assert.equal(stack.range, '0-255');
  const byId = new Map(stack.glyphs.map((g) => [g.id, g]));
  const expected = [...fontCharset(DEJAVU)].filter((c) => c <= 255);
  assert.ok(expected.length > 180);
  for (const c of expected) assert.ok(byId.has(c), `U+${c.toString(16)} missing`);
  for (const g of stack.glyphs) {
    if (!fontCharset(DEJAVU).has(g.id)) assert.equal(g.width, 0, `U+${g.id.toString(16)} is not a drawn character`);
    if (g.width === 0) continue;
    assert.equal(g.bitmap.length, (g.width + 6) * (g.height + 6), `U+${g.id.toString(16)}: 3 px border`);
    assert.ok(Math.max(...g.bitmap) >= 192, `U+${g.id.toString(16)} has an inside`);
    assert.ok(Math.max(...g.bitmap.subarray(0, g.width + 6)) < 192, `U+${g.id.toString(16)}: the border row is outside`);
  }
  const A = byId.get(0x41), E = byId.get(0x45), Eacute = byId.get(0xc9), a = byId.get(0x61), l = byId.get(0x6c);
  assert.ok(A.width >= 14 && A.width <= 19 && A.height >= 16 && A.height <= 19, `A ${A.width}x${A.height} at a 24 px em`);
  assert.equal(Eacute.width, E.width);
  assert.ok(Eacute.height > E.height && Eacute.top > E.top, 'É carries its accent above E');
  assert.ok(l.top > a.top, 'l rises above the x-height');
  assert.ok(byId.get(0x57).advance > byId.get(0x69).advance, 'W is wider than i');
  assert.ok(byId.get(0x20).advance > 0 && !byId.get(0x20).bitmap?.length, 'a space advances and draws nothing');
});

test('a font stack uses its first font served here; unknown stacks and bad ranges are 404, empty ranges 204', async () => {
  const { res, msg } = await glyphRange('Noto Sans Regular,DejaVu Sans Bold', '256-511');
  assert.equal(res.status, 200);
  assert.equal(msg.stacks[0].name, 'DejaVu Sans Bold');
  assert.ok(msg.stacks[0].glyphs.some((g) => g.id === 0x153), 'œ');
  const again = await glyphRange('Noto Sans Regular,DejaVu Sans Bold', '256-511', { 'if-none-match': res.headers.get('etag') });
  assert.equal(again.res.status, 304);
  assert.equal((await glyphRange('DejaVu Sans Book', '19968-20223')).res.status, 204);
  const unknown = await fetch(`${server.base}/fonts/Comic%20Sans/0-255.pbf`);
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).description, /^fontstack:/);
  for (const range of ['0-511', '100-355', 'x-y']) {
    const bad = await fetch(`${server.base}/fonts/DejaVu%20Sans%20Book/${range}.pbf`);
    assert.equal(bad.status, 404, range);
    assert.match((await bad.json()).description, /^range:/);
  }
});

test('the sprite holds the hatch at 1x and 2x, as GDAL reads the PNG', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ideo-sprite-'));
  try {
    for (const [suffix, ratio] of [['', 1], ['@2x', 2]]) {
      const index = await (await fetch(`${server.base}/styles/sprites/ideo${suffix}.json`)).json();
      assert.deepEqual(index.hatch, { x: 0, y: 0, width: 16 * ratio, height: 16 * ratio, pixelRatio: ratio });
      const res = await fetch(`${server.base}/styles/sprites/ideo${suffix}.png`);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const file = path.join(dir, `ideo${suffix}.png`);
      writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      const info = spawnSync('gdalinfo', ['-json', '-stats', file], { encoding: 'utf8' });
      assert.equal(info.status, 0, info.stderr);
      const meta = JSON.parse(info.stdout);
      assert.deepEqual(meta.size, [16 * ratio, 16 * ratio]);
      const alpha = meta.bands[3];
      assert.equal(alpha.colorInterpretation, 'Alpha');
      assert.equal(alpha.minimum, 0, 'gaps between the lines');
      assert.ok(alpha.maximum > 200, 'opaque lines');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal((await fetch(`${server.base}/styles/sprites/maki.png`)).status, 404);
});

// Area of a ring clipped to the tile's own square (Sutherland-Hodgman), in tile units, signed.
function clippedArea(ring, extent) {
  let pts = ring.map((p) => [p.x, p.y]);
  const edges = [[0, 0, 1], [0, extent, -1], [1, 0, 1], [1, extent, -1]];  // axis, bound, side
  for (const [axis, bound, side] of edges) {
    const inside = (p) => side * (p[axis] - bound) >= 0;
    const out = [];
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i];
      const q = pts[(i + 1) % pts.length];
      if (inside(p)) out.push(p);
      if (inside(p) !== inside(q)) {
        const t = (bound - p[axis]) / (q[axis] - p[axis]);
        out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
      }
    }
    pts = out;
  }
  let a = 0;
  for (let i = 0; i < pts.length; i++) {
    const [x1, y1] = pts[i];
    const [x2, y2] = pts[(i + 1) % pts.length];
    a += x1 * y2 - x2 * y1;
  }
  return a / 2;
}

test("coverage tiles hold each commune's uncovered zones, hatched from z10", async () => {
  const tj = await (await fetch(`${server.base}/tiles/coverage.json`)).json();
  assert.deepEqual(tj.vector_layers.map((l) => [l.id, l.minzoom]), [['coverage', 10]]);
  assert.equal(tj.vector_layers[0].fields.covered_share, 'Number');
  const insee = '90010';
  const cov = await (await fetch(`${server.base}/deci/communes/${insee}/coverage?mode=straight`)).json();
  const commune = cov.features.find((f) => f.properties.kind === 'uncovered' && f.properties.insee === insee);
  const expected = commune.properties.uncovered_m2;
  assert.ok(expected > 1e5, `Belfort has gaps to draw (${expected} m²)`);

  const [hit] = await (await fetch(`${server.base}/communes/search?q=${insee}`)).json();
  const z = 13;
  let area = 0;
  for await (const { x, y, vt } of tilesOver('coverage', hit.bbox, z)) {
    const layer = vt.layers.coverage;
    const extent = layer.extent;
    // One tile unit in metres on the ground: Web Mercator's scale shrunk by the latitude's cosine.
    const [, south, , north] = tileBounds({ z, x, y });
    const unit = ((2 * Math.PI * 6378137) / 2 ** z / extent) * Math.cos((((south + north) / 2) * Math.PI) / 180);
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      assert.equal(f.type, 3);
      assert.equal(f.properties.mode, 'straight');
      if (f.properties.insee !== insee) continue;
      assert.ok(Math.abs(f.properties.covered_share - commune.properties.covered_share) <= 0.001);
      for (const ring of f.loadGeometry()) area += clippedArea(ring, extent) * unit * unit;
    }
  }
  assert.ok(Math.abs(area - expected) <= 0.02 * expected, `tiles ${Math.round(area)} m², coverage ${expected} m²`);
  const low = tileOf(6.8628, 47.638, 9);
  assert.equal((await fetch(`${server.base}/tiles/coverage/${low.z}/${low.x}/${low.y}.mvt`)).status, 204, 'nothing below z10');
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
