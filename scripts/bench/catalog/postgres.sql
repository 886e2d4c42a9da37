-- The PostgreSQL side of scripts/bench/catalog.sh: the harvested records, French full-text search
-- with accents removed (unaccent), and one function per answer doing what ideo's answer does:
-- the matched count, the page ranked by relevance, and the theme, publisher, keyword and format facets.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TABLE records (
  id text PRIMARY KEY, title text, description text, keywords text[], publisher text, themes text[],
  formats text[], bbox box, doc jsonb, tsv tsvector);

-- The query is built for the filters present (EXECUTE plans it with its values), so that the GIN
-- and GiST indexes serve it: one generic statement with "x IS NULL OR ..." scans every row. The
-- matched set carries no document; the page's documents are joined at the end.
CREATE FUNCTION search(q text, theme text, pub text, kw text, fmt text, bb box, lim int, off int)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
  cond text := 'true';
  score text := '0::real';
  facet text := $f$(SELECT coalesce(json_agg(json_build_object('value', v, 'count', n) ORDER BY n DESC, v), '[]')
                    FROM (SELECT v, count(*) AS n FROM m, %s GROUP BY v ORDER BY n DESC, v LIMIT 50) f)$f$;
  result json;
BEGIN
  IF q IS NOT NULL THEN cond := cond || ' AND tsv @@ $1'; score := 'ts_rank(tsv, $1)'; END IF;
  IF theme IS NOT NULL THEN cond := cond || ' AND themes @> ARRAY[$2]'; END IF;
  IF pub IS NOT NULL THEN cond := cond || ' AND publisher = $3'; END IF;
  IF kw IS NOT NULL THEN cond := cond || ' AND keywords @> ARRAY[$4]'; END IF;
  IF fmt IS NOT NULL THEN cond := cond || ' AND formats @> ARRAY[$5]'; END IF;
  IF bb IS NOT NULL THEN cond := cond || ' AND bbox && $6'; END IF;
  EXECUTE format($sql$
    WITH m AS MATERIALIZED (SELECT id, themes, publisher, keywords, formats, %s AS rank FROM records WHERE %s)
    SELECT json_build_object(
      'numberMatched', (SELECT count(*) FROM m),
      'records', (SELECT coalesce(json_agg(r.doc ORDER BY p.rank DESC, p.id), '[]')
                  FROM (SELECT id, rank FROM m ORDER BY rank DESC, id LIMIT $7 OFFSET $8) p JOIN records r ON r.id = p.id),
      'facets', json_build_object('themes', %s, 'publishers', %s, 'keywords', %s, 'formats', %s))$sql$,
    score, cond, format(facet, 'unnest(m.themes) v'), format(facet, 'LATERAL (SELECT m.publisher AS v WHERE m.publisher <> '''') x'),
    format(facet, 'unnest(m.keywords) v'), format(facet, 'unnest(m.formats) v'))
  INTO result
  USING CASE WHEN q IS NULL THEN NULL ELSE plainto_tsquery('french', unaccent(q)) END, theme, pub, kw, fmt, bb, lim, off;
  RETURN result;
END
$$;

-- A page of the whole catalogue in identifier order, as the DCAT-AP export pages it.
CREATE FUNCTION dcat_page(page int, size int) RETURNS json LANGUAGE sql STABLE AS $$
  SELECT json_build_object('totalItems', (SELECT count(*) FROM records),
                           'datasets', coalesce(json_agg(doc ORDER BY id), '[]'))
  FROM (SELECT doc, id FROM records ORDER BY id LIMIT size OFFSET (page - 1) * size) p
$$;
