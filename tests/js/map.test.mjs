// The map page in a real browser (Debian's chromium driven by Playwright) against `ideo serve`
// on loopback with the Belfort corpus: tiles, commune search, downloads, popups, the embed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { belfortStore, harvestRecordedCatalogue, ideo, serve, root } from './support.mjs';
import { launchChromium, artifacts } from './browser.mjs';

let fixture, server, chromium, memberKey;
before(async () => {
  assert.ok(existsSync(path.join(root, 'web', 'dist', 'index.html')), 'web/dist is not built: run scripts/build-web');
  fixture = belfortStore();
  await harvestRecordedCatalogue(fixture.store);
  // The town hall's member key, printed once by the real binary.
  const created = ideo(['keys', 'create', '--org', 'Mairie de Belfort', '--role', 'member', '--insee', '90010', '--store', fixture.store]);
  memberKey = created.match(/^key: (\S+)$/m)?.[1];
  assert.ok(memberKey, created);
  server = await serve(fixture.store);
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  server?.stop();
  fixture?.cleanup();
});

// A page that records console errors, uncaught exceptions and tile responses.
async function openPage(t) {
  const page = await chromium.context.newPage();
  const log = { errors: [], tiles: 0, failed: new Map() };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location()?.url ?? '';
    log.errors.push(`${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => log.errors.push(`uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (/\/tiles\/[^/]+\/\d+\/\d+\/\d+\.mvt$/.test(r.url()) && r.status() === 200) log.tiles++;
    if (/\/fonts\/[^/]+\/\d+-\d+\.pbf$/.test(r.url()) && r.status() === 200) log.glyphs = (log.glyphs ?? 0) + 1;
    if (r.status() >= 400) log.failed.set(r.url(), r.status());
  });
  return { page, log };
}

const settled = (frame) => frame.waitForFunction(() => document.body.dataset.ready === 'true' && window.ideo?.map.loaded()
  && window.ideo.map.areTilesLoaded() && !window.ideo.map.isMoving(), null, { timeout: 60000 });

async function shoot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

async function api(p) {
  const res = await fetch(server.base + p);
  assert.equal(res.status, 200, p);
  return res.json();
}

// The page opened on Belfort (?insee=90010), its counts shown and the map still.
async function openBelfort(page) {
  await page.goto(`${server.base}/map?insee=90010`);
  await page.waitForFunction(() => /^\d/.test(document.querySelector('dd[data-count="pei-total"]')?.textContent ?? ''));
  await settled(page);
}

async function searchBelfort(page) {
  await page.fill('#recherche-commune', 'belfort');
  await page.waitForSelector('#resultats-communes li[role="option"]:has-text("Belfort")');
  await page.press('#recherche-commune', 'Enter');
  await page.waitForFunction(() => /^\d/.test(document.querySelector('dd[data-count="pei-total"]')?.textContent ?? ''));
  await settled(page);
}

test('the map page loads the style and its vector tiles without a console error', async (t) => {
  const { page, log } = await openPage(t);
  await page.goto(`${server.base}/map`);
  await settled(page);
  await shoot(page, 'map-loaded');
  assert.ok(log.tiles > 0, 'no vector tile was loaded');
  const drawn = await page.evaluate(() => window.ideo.map.queryRenderedFeatures({ layers: ['communes-fill'] }).length);
  assert.ok(drawn > 0, 'no commune drawn');
  assert.equal(await page.locator('#legend li').count() > 0, true, 'the legend is empty');
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('searching "belfort" zooms to Belfort and shows its counts', async (t) => {
  const { page, log } = await openPage(t);
  await page.goto(`${server.base}/map`);
  await settled(page);
  await searchBelfort(page);
  await shoot(page, 'map-belfort');

  const view = await page.evaluate(() => ({ zoom: window.ideo.map.getZoom(), center: window.ideo.map.getCenter() }));
  const [commune] = await api('/communes/search?q=90010');
  const [w, s, e, n] = commune.bbox;
  assert.ok(view.center.lng > w && view.center.lng < e && view.center.lat > s && view.center.lat < n, JSON.stringify(view));
  assert.ok(view.zoom >= 11, `zoom ${view.zoom}`);
  assert.match(await page.textContent('#titre-commune'), /Belfort \(90010\)/);

  const pei = await api('/collections/pei/items?insee=90010&limit=1');
  const erp = await api('/collections/erp/items?insee=90010&limit=1');
  const count = async (key) => Number((await page.textContent(`dd[data-count="${key}"]`)).replace(/\s/g, ''));
  assert.equal(await count('pei-total'), pei.numberMatched);
  assert.equal(await count('erp-total'), erp.numberMatched);
  assert.equal(await count('pei-available') + await count('pei-unavailable'), pei.numberMatched);
  assert.ok(await count('pei-compliant') <= await count('pei-available'));
  // The counts are the server's summary, not recomputed by the page.
  const summary = await api('/deci/communes/90010');
  for (const key of ['available', 'compliant', 'unavailable']) assert.equal(await count(`pei-${key}`), summary.pei[key], key);
  assert.equal(await count('icpe-total'), summary.icpe.total);
  const warnings = await page.locator('#commune-warnings li').allTextContents();
  if (summary.pei.check_overdue) assert.ok(warnings.some((w) => w.includes('sans contrôle récent')), warnings.join(' | '));
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('commune names are drawn with the glyphs this server serves', async (t) => {
  const { page, log } = await openPage(t);
  await openBelfort(page);
  await page.evaluate(() => window.ideo.map.jumpTo({ center: [6.8628, 47.638], zoom: 12 }));
  await settled(page);
  await shoot(page, 'map-labels');
  const names = await page.evaluate(() => window.ideo.map.queryRenderedFeatures({ layers: ['communes-label'] })
    .map((f) => f.properties.nom));
  assert.ok(names.includes('Belfort'), `labels drawn: ${names.join(', ')}`);
  assert.ok(log.glyphs > 0, 'no glyph range was loaded');
  assert.deepEqual([...log.failed.keys()].filter((u) => /\/fonts\//.test(u)), [], 'a glyph range failed');
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('straight-line coverage shows the hatched gaps of the coverage tiles, and hides them again', async (t) => {
  const { page, log } = await openPage(t);
  await openBelfort(page);
  const hidden = await page.evaluate(() => window.ideo.map.getLayoutProperty('coverage-hatch', 'visibility'));
  assert.equal(hidden, 'none', 'coverage is hidden until asked for');
  await page.check('input[name="coverage"][value="straight"]');
  await page.waitForFunction(() => /couverte/.test(document.getElementById('coverage-status').textContent));
  await settled(page);
  await shoot(page, 'map-coverage-straight');
  const straight = await page.evaluate(() => {
    const { map } = window.ideo;
    return {
      hatched: map.queryRenderedFeatures({ layers: ['coverage-hatch'] }).filter((f) => f.properties.insee === '90010').length,
      geojsonPolygons: map.querySourceFeatures('coverage-commune').filter((f) => /Polygon/.test(f.geometry.type)).length,
    };
  });
  assert.ok(straight.hatched > 0, 'no hatched gap drawn over Belfort');
  assert.equal(straight.geojsonPolygons, 0, 'the gaps are not drawn twice');
  assert.equal(log.failed.size, 0, [...log.failed.keys()].join(' '));
  await page.check('input[name="coverage"][value=""]');
  assert.equal(await page.evaluate(() => window.ideo.map.getLayoutProperty('coverage-hatch', 'visibility')), 'none');
  assert.deepEqual(log.errors, []);
  await page.close();
});

// Types the key into the "Accès membre" panel and waits for the page's answer.
async function signIn(page, key) {
  await page.getByLabel("Clé d'accès").fill(key);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForFunction(() => !document.getElementById('member-signed-in').hidden
    || /refusée|impossible/.test(document.getElementById('member-status').textContent));
}

test('anonymous sees the downloads reserved to members, and a wrong key is refused', async (t) => {
  const { page, log } = await openPage(t);
  await openBelfort(page);
  assert.equal(await page.locator('#downloads a').count(), 0, 'a download link anonymous cannot follow');
  assert.match(await page.textContent('#downloads'), /réservés aux membres de la commune, au SDIS et au portail/);
  await signIn(page, 'ideo_not-a-key-of-this-store');
  assert.match(await page.textContent('#member-status'), /Clé refusée/);
  assert.equal(await page.getAttribute('#member-status', 'aria-live'), 'polite');
  assert.equal(await page.isVisible('#member-sign-out'), false);
  assert.equal(await page.locator('#downloads a').count(), 0);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key was kept');
  // The refused /whoami is the only failed request, and no console error besides it.
  assert.deepEqual([...log.failed].map(([u, s]) => [new URL(u).pathname, s]), [['/whoami', 401]]);
  assert.deepEqual(log.errors.filter((e) => !/401/.test(e)), []);
  await page.close();
});

test("the Excel download is a workbook holding Belfort's PEI", async (t) => {
  const { page, log } = await openPage(t);
  await page.goto(`${server.base}/map?insee=90010`);
  await page.locator('#downloads .reserved').waitFor();
  await signIn(page, memberKey);
  assert.equal(await page.textContent('#member-who'), 'Connecté : Mairie de Belfort (membre)');
  const link = page.locator('#downloads a[href$="/extract.xlsx"]');
  await link.waitFor();
  // Every download button points at a file the server makes for the member, and refuses anonymous.
  const hrefs = await page.locator('#downloads a').evaluateAll((as) => as.map((a) => a.href));
  assert.equal(hrefs.length, 8, hrefs.join(' '));
  for (const href of hrefs) {
    assert.equal((await fetch(href)).status, 401, `${href} without a key`);
    const r = await fetch(href, { headers: { Authorization: `Bearer ${memberKey}` } });
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200, href);
    assert.ok(body.length > 100, `${href}: ${body.length} bytes`);
  }
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const dir = mkdtempSync(path.join(tmpdir(), 'ideo-download-'));
  try {
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    assert.deepEqual([...readFileSync(file).subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04], 'not a zip (XLSX) file');
    const info = spawnSync('ogrinfo', ['-ro', '-al', '-q', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(info.status, 0, info.stderr);
    const some = await api('/collections/pei/items?insee=90010&limit=3');
    assert.equal(some.features.length, 3);
    for (const f of some.features) assert.ok(info.stdout.includes(f.properties.id_sdis), `PEI ${f.properties.id_sdis} missing from the workbook`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The key stays for the tab: a reload is still signed in; signing out hides the links again.
  // The map's own tile requests carry the key (MapLibre's transformRequest) once signed in.
  let keyedTiles = 0;
  page.on('request', (r) => {
    if (/\/tiles\/.+\.mvt$/.test(r.url()) && r.headers().authorization === `Bearer ${memberKey}`) keyedTiles++;
  });
  await page.reload();
  await page.locator('#downloads a[href$="/extract.xlsx"]').waitFor();
  await settled(page);
  assert.ok(keyedTiles > 0, 'no tile request carried the key');
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.locator('#downloads .reserved').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('a click on a PEI opens its popup in plain French', async (t) => {
  const { page, log } = await openPage(t);
  await openBelfort(page);
  // Zoomed in enough that PEI are single points, not clusters.
  await page.evaluate(() => window.ideo.map.jumpTo({ center: [6.8628, 47.638], zoom: 15 }));
  await settled(page);
  const target = await page.evaluate(() => {
    const { map } = window.ideo;
    const box = map.getCanvas().getBoundingClientRect();
    const f = map.queryRenderedFeatures({ layers: ['pei'] }).find((x) => !x.properties.cluster);
    if (!f) return null;
    const p = map.project(f.geometry.coordinates);
    return { id: f.properties.id_sdis, x: box.left + p.x, y: box.top + p.y };
  });
  assert.ok(target, 'no PEI rendered at zoom 15 in Belfort');
  await page.mouse.click(target.x, target.y);
  const popup = page.locator('.maplibregl-popup .popup-pei');
  await popup.waitFor();
  // The full record replaces the tile's fields: wait for an attribute tiles do not carry.
  await page.waitForFunction(() => /Commune \(INSEE\)/.test(document.querySelector('.popup-pei')?.textContent ?? ''));
  await shoot(page, 'map-pei-popup');
  const text = await popup.textContent();
  const item = await api(`/collections/pei/items/${encodeURIComponent(target.id)}`);
  assert.ok(text.includes(target.id), text);
  const spelled = { PI: "Poteau d'incendie", BI: "Bouche d'incendie", PA: "Point d'aspiration", CI: 'Citerne' };
  assert.ok(text.includes(spelled[item.properties.type_pei]), `${item.properties.type_pei} not spelled out: ${text}`);
  assert.match(text, item.properties.disponible ? /Disponible/ : /Indisponible/);
  if (item.properties.date_ct) {
    const [y, m, d] = item.properties.date_ct.split('-');
    assert.ok(text.includes(`${d.slice(0, 2)}/${m}/${y}`), `last check not in French format: ${text}`);
  }
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('the embed page renders in an iframe of another site with only the layers asked for', async (t) => {
  const { page, log } = await openPage(t);
  // The commune's website: another origin on loopback, serving a page with the iframe snippet.
  const site = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="fr"><body style="margin:0">
      <h1 style="font:16px sans-serif">Mairie de Belfort</h1>
      <iframe id="carte" src="${server.base}/map/embed?layers=pei&insee=90010" title="Carte DECI" width="900" height="600" style="border:0"></iframe>
      </body></html>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.after(() => site.close());
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  const frame = await (await page.waitForSelector('#carte')).contentFrame();
  await settled(frame);
  await shoot(page, 'map-embed');
  const seen = await frame.evaluate(() => {
    const { map } = window.ideo;
    return {
      pei: map.queryRenderedFeatures({ layers: ['pei', 'pei-clusters'] }).length,
      erpVisible: map.getLayoutProperty('erp', 'visibility'),
      selected: JSON.stringify(map.getFilter('commune-selected')),
      panel: document.querySelector('.panel') !== null,
    };
  });
  assert.ok(seen.pei > 0, 'no PEI drawn in the embed');
  assert.equal(seen.erpVisible, 'none');
  assert.match(seen.selected, /90010/);
  assert.equal(seen.panel, false, 'the embed has no side panel');
  assert.deepEqual(log.errors, []);
  await page.close();
});

test('the catalogue search lists the harvested records with facets, and a publisher facet filters them', async (t) => {
  const { page, log } = await openPage(t);
  await page.goto(`${server.base}/map`);
  const all = await api('/catalog/records?limit=1');
  assert.ok(all.numberMatched > 0, 'the fixture harvested no catalogue record');
  await page.getByLabel('Rechercher un jeu de données').fill('');
  await page.locator('#catalog-form button[type="submit"], #catalog-form input[type="submit"]').first().click();
  await page.waitForFunction((n) => document.getElementById('catalog-status').textContent.startsWith(`${n} `), all.numberMatched);
  // The facet the server counts most records for, among the publishers.
  const publisher = all.facets.publishers[0];
  const chip = page.locator('#catalog-facets button[data-facet="publisher"]', { hasText: publisher.value }).first();
  await chip.click();
  await page.waitForFunction((n) => document.getElementById('catalog-status').textContent.startsWith(`${n} `), publisher.count);
  assert.equal(await page.locator('#catalog-facets button[data-facet="publisher"][aria-pressed="true"]').count(), 1);
  const shown = await page.locator('#catalog-results li .publisher').allTextContents();
  assert.equal(shown.length, Math.min(publisher.count, 20));
  for (const p of shown) assert.equal(p, ` — ${publisher.value}`);
  await page.screenshot({ path: path.join(artifacts, 'map-catalogue.png') });
  assert.deepEqual(log.errors, []);
  assert.equal(log.failed.size, 0, [...log.failed.keys()].join(' '));
  await page.close();
});
