// One ST_AsMVT query per tile, as pg_tileserv and Martin run it, behind node's http server.
import http from 'node:http';
import pg from 'pg';

const [socketDir, port] = process.argv.slice(2);
const pool = new pg.Pool({ host: socketDir, database: 'bench', user: 'postgres', max: 16 });
const sql = `SELECT ST_AsMVT(q, 'pei', 4096, 'geom') AS mvt FROM (
  SELECT id_sdis AS id, insee, type_pei, debit, volume, disponible, statut, diam_pei, situation, date_ct, nom_gest,
         ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
  FROM pei WHERE geom && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)) q`;
http.createServer(async (req, res) => {
  const m = req.url.match(/^\/(\d+)\/(\d+)\/(\d+)\.mvt$/);
  if (!m) { res.writeHead(404); return res.end(); }
  try {
    const r = await pool.query(sql, [+m[1], +m[2], +m[3]]);
    const body = r.rows[0].mvt;
    if (!body || body.length === 0) { res.writeHead(204); return res.end(); }
    res.writeHead(200, { 'Content-Type': 'application/vnd.mapbox-vector-tile', 'Content-Length': body.length });
    res.end(body);
  } catch (e) {
    res.writeHead(500); res.end(String(e));
  }
}).listen(+port, '127.0.0.1', () => console.log('listening'));
