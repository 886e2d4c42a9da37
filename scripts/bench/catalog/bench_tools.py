#!/usr/bin/python3
"""Helpers of scripts/bench/catalog.sh (standard library only).

  bench_tools.py check RUN.json added=8000 unchanged=0 ...   the harvest report's totals, or exit 1
  bench_tools.py totals RUN.json                             "added updated unchanged withdrawn failed"
  bench_tools.py queries STORE.gpkg OUTDIR                   the request list: ideo paths, pgbench scripts
  bench_tools.py pg-rows STORE.gpkg OUT.tsv                  the listed records for PostgreSQL's COPY
  bench_tools.py latency BASE_URL PATHS [REPEAT]             per request kind, mean ms over keep-alive
  bench_tools.py pgbench-percentiles LOG...                  "p50 p99" ms of pgbench -l logs
  bench_tools.py hyperfine RESULT.json                       "mean stddev min user system" seconds
"""
import http.client, json, os, sqlite3, statistics, sys, time, urllib.parse

KINDS_ORDER = []


def totals(path):
    run = json.load(open(path))
    keys = ("added", "updated", "unchanged", "withdrawn", "failed")
    out = {k: sum(p[k] for p in run["partners"]) for k in keys}
    out["partners"] = len(run["partners"])
    out["kept_last_good"] = sum(1 for p in run["partners"] if p["kept_last_good"])
    out["failures"] = [f"{p['partner']}: {f}" for p in run["partners"] for f in p["failures"]]
    return out


def check(path, wanted):
    t = totals(path)
    bad = [f"{k} = {t[k]}, expected {v}" for k, v in wanted.items() if t[k] != int(v)]
    if t["kept_last_good"]:
        bad.append(f"{t['kept_last_good']} partner(s) failed")
    if bad:
        print(f"{path}: " + "; ".join(bad), file=sys.stderr)
        for f in t["failures"][:20]:
            print("  " + f, file=sys.stderr)
        sys.exit(1)


def records(store):
    db = sqlite3.connect(store)
    rows = db.execute("SELECT record_json FROM ideo_catalog_records WHERE withdrawn = 0 ORDER BY id").fetchall()
    return [json.loads(r[0]) for r in rows]


def pg_array(values):
    quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return "{" + ",".join(quoted) + "}"


def tsv_field(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def pg_rows(store, out):
    with open(out, "w", encoding="utf-8") as f:
        for r in records(store):
            formats = sorted({d["format"] for d in r.get("distributions", []) if d.get("format")})
            bbox = r.get("bbox")
            box = f"({bbox[0]},{bbox[1]}),({bbox[2]},{bbox[3]})" if bbox else "\\N"
            fields = [r["id"], r.get("title", ""), r.get("description", ""), pg_array(r.get("keywords", [])),
                      r.get("publisher", ""), pg_array(r.get("themes", [])), pg_array(formats), box,
                      json.dumps(r, ensure_ascii=False)]
            f.write("\t".join(tsv_field(x) if x != "\\N" else x for x in fields) + "\n")


def queries(store, outdir):
    """The request list, built from the harvested catalogue so that every filter hits: full text
    (the questions a mayor's office asks), facets by theme and publisher, keywords, formats, bounding
    boxes (a commune, a department), deep paging, and DCAT-AP pages for national harvesters."""
    recs = records(store)
    publishers = sorted({r["publisher"] for r in recs if r.get("publisher")})
    themes = sorted({t for r in recs for t in r.get("themes", [])})
    kinds = []
    for q in ("eau potable", "defense incendie", "Défense extérieure contre l'incendie", "plan local d'urbanisme",
              "parkings", "zones humides", "points d'eau incendie Dijon", "qualité de l'air", "cadastre",
              "arrets de bus Besancon"):
        kinds.append(("q", {"q": q}))
    for t in themes[::2]:
        kinds.append(("theme", {"theme": t}))
    for p in publishers[:: max(1, len(publishers) // 6)]:
        kinds.append(("publisher", {"publisher": p}))
    kinds.append(("theme+q", {"q": "eau potable", "theme": "Environnement et biodiversité"}))
    kinds.append(("keyword", {"keyword": "Urbanisme"}))
    kinds.append(("format", {"format": "WFS"}))
    kinds.append(("bbox", {"bbox": "4.99,47.29,5.07,47.35"}))        # Dijon
    kinds.append(("bbox", {"bbox": "6.80,47.60,6.90,47.68"}))        # Belfort
    kinds.append(("bbox+q", {"bbox": "5.8,47.1,6.2,47.4", "q": "eau potable"}))  # around Besançon
    kinds.append(("all", {}))
    for off in (20, 200, 2000):
        kinds.append(("paging", {"offset": str(off)}))
    kinds.append(("paging", {"q": "eau", "offset": "40", "limit": "20"}))
    kinds.append(("limit100", {"limit": "100", "theme": "Risques et sécurité"}))
    lines, pg = [], []
    for kind, params in kinds:
        lines.append((kind, "/catalog/records?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)))
        lit = lambda k: "'" + params[k].replace("'", "''") + "'" if k in params else "NULL"
        bbox = "NULL"
        if "bbox" in params:
            w, s, e, n = params["bbox"].split(",")
            bbox = f"box(point({w},{s}),point({e},{n}))"
        pg.append((kind, f"SELECT search({lit('q')}, {lit('theme')}, {lit('publisher')}, {lit('keyword')}, "
                         f"{lit('format')}, {bbox}, {params.get('limit', '20')}, {params.get('offset', '0')});"))
    for page in (1, 5, 40, 120):
        lines.append(("dcat", f"/catalog/dcat.jsonld?page={page}&page_size=50"))
        pg.append(("dcat", f"SELECT dcat_page({page}, 50);"))
    os.makedirs(os.path.join(outdir, "pg"), exist_ok=True)
    with open(os.path.join(outdir, "paths.txt"), "w") as f:
        f.write("\n".join(p for _, p in lines) + "\n")
    with open(os.path.join(outdir, "kinds.txt"), "w") as f:
        f.write("\n".join(k for k, _ in lines) + "\n")
    for i, (_, sql) in enumerate(pg):
        with open(os.path.join(outdir, "pg", f"q{i:02d}.sql"), "w") as f:
            f.write(sql + "\n")
    print(len(lines))


def latency(base, paths_file, repeat):
    """Mean latency per request kind at one connection, keep-alive (the client costs ~0.1 ms)."""
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    paths = [l.strip() for l in open(paths_file) if l.strip()]
    kinds = [l.strip() for l in open(os.path.join(os.path.dirname(paths_file), "kinds.txt")) if l.strip()]
    per = {}
    for kind, path in zip(kinds, paths):
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            dt = (time.perf_counter() - t0) * 1000
            if res.status != 200:
                sys.exit(f"{path}: HTTP {res.status}: {body[:200]!r}")
            if i:  # the first answer warms the snapshot's caches
                per.setdefault(kind, []).append(dt)
    for kind, v in per.items():
        print(f"{kind} {statistics.mean(v):.3f} {max(v):.3f}")


def percentiles(logs):
    lat = []
    for path in logs:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    lat.append(int(parts[2]) / 1000.0)
    lat.sort()
    if not lat:
        print("0 0")
        return
    pick = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
    print(f"{pick(0.50):.3f} {pick(0.99):.3f}")


def hyperfine(path):
    r = json.load(open(path))["results"][0]
    print(f"{r['mean']:.3f} {r['stddev'] or 0:.3f} {r['min']:.3f} {r['user']:.3f} {r['system']:.3f}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        check(args[0], dict(a.split("=") for a in args[1:]))
    elif cmd == "totals":
        t = totals(args[0])
        print(t["added"], t["updated"], t["unchanged"], t["withdrawn"], t["failed"])
    elif cmd == "queries":
        queries(args[0], args[1])
    elif cmd == "pg-rows":
        pg_rows(args[0], args[1])
    elif cmd == "latency":
        latency(args[0], args[1], int(args[2]) if len(args) > 2 else 20)
    elif cmd == "pgbench-percentiles":
        percentiles(args)
    elif cmd == "hyperfine":
        hyperfine(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
