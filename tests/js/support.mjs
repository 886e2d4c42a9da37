// Runs the real ideo binary for the JavaScript tests: imports the Belfort corpus into a temporary
// store and serves it on a free loopback port.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..', '..');
export const binary = process.env.IDEO_BINARY || path.join(root, 'build', 'ideo');
export const shared = process.env.IDEO_SHARED || path.join(root, '..', 'shared');
export const data = (p) => path.join(shared, 'data', p);

export function ideo(args) {
  const r = spawnSync(binary, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ideo ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export function belfortStore() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ideo-js-'));
  const store = path.join(dir, 'ideo.gpkg');
  ideo(['import', 'communes', data('communes/communes-90-territoire-de-belfort.geojson'), '--store', store]);
  ideo(['import', 'pei', data('deci/d_pei_cd90_p.zip'), '--store', store]);
  ideo(['import', 'erp', data('deci/erp-90-prefecture.csv'), '--store', store]);
  return { dir, store, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// The loopback port a child server prints once it listens ("listening on http://127.0.0.1:PORT ...").
function listening(child, name) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
}

// The catalogue partners of the demo (real answers of ../shared/data/catalog: CSW, CKAN, DCAT, ODS),
// served on loopback by ideo-partner-sim and harvested into `store` with ideo harvest.
export async function harvestRecordedCatalogue(store) {
  const sim = process.env.IDEO_PARTNER_SIM || path.join(path.dirname(binary), 'ideo-partner-sim');
  const partners = mkdtempSync(path.join(tmpdir(), 'ideo-js-partners-'));
  const child = spawn(sim, ['--recorded', path.join(shared, 'data', 'catalog'), '--partners-out', partners], { cwd: root });
  try {
    await listening(child, 'ideo-partner-sim');
    const ids = readdirSync(partners).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    // --only: the catalogue partners alone, not the layers' file sources.
    return ideo(['harvest', '--partners', partners, '--store', store, '--only', ...ids]);
  } finally {
    child.kill('SIGTERM');
    rmSync(partners, { recursive: true, force: true });
  }
}

export async function serve(store) {
  const child = spawn(binary, ['serve', '--store', store, '--listen', '127.0.0.1:0'], { cwd: root });
  const port = await listening(child, 'ideo serve');
  return { port, base: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

// Tile arithmetic of the XYZ scheme, written independently of the server's.
export function tileOf(lon, lat, z) {
  const n = 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return { z, x: Math.floor(((lon + 180) / 360) * n), y: Math.floor((0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n) };
}

export function tileBounds({ z, x, y }, bufferUnits = 0, extent = 4096) {
  const n = 2 ** z;
  const b = bufferUnits / extent;
  const lon = (tx) => (tx / n) * 360 - 180;
  const lat = (ty) => (180 / Math.PI) * Math.atan(Math.sinh(Math.PI * (1 - (2 * ty) / n)));
  return [lon(x - b), lat(y + 1 + b), lon(x + 1 + b), lat(y - b)];
}
