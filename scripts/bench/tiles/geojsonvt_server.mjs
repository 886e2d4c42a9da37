// geojson-vt + vt-pbf behind node's http server: the in-memory tiler many web stacks embed.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import geojsonvt from 'geojson-vt';
import vtpbf from 'vt-pbf';

const [file, port] = process.argv.slice(2);
const index = geojsonvt(JSON.parse(readFileSync(file, 'utf8')), { maxZoom: 16, indexMaxZoom: 5, buffer: 64, extent: 4096 });
http.createServer((req, res) => {
  const m = req.url.match(/^\/(\d+)\/(\d+)\/(\d+)\.mvt$/);
  if (!m) { res.writeHead(404); return res.end(); }
  const t = index.getTile(+m[1], +m[2], +m[3]);
  if (!t) { res.writeHead(204); return res.end(); }
  const body = Buffer.from(vtpbf.fromGeojsonVt({ pei: t }, { version: 2 }));
  res.writeHead(200, { 'Content-Type': 'application/vnd.mapbox-vector-tile', 'Content-Length': body.length });
  res.end(body);
}).listen(+port, '127.0.0.1', () => console.log('listening'));
