#!/usr/bin/python3
"""The catalogue benchmark's partner portals, generated from the real catalogue records.

Writes OUTDIR/partners/<id>/ for ideo-partner-sim (tests/support/catalog_partners.cpp): the
partner's records, each one document in its protocol's shape (records.jsonl), the real envelope
of its answer pages cut around the records (sim.json: head, separator, tail with {{placeholders}}
for counts and paging links), and the partner file ideo reads (partner.json, url on {{base}}).

Every record is one of the real documents of ../shared/data/catalog, templated: identifiers,
titles, descriptions, keywords, topic categories and INSPIRE themes, publishers, bounding boxes
(of real BFC communes and departments), dates and distribution URLs change; the structure stays
the partner software's own (GeoNetwork and Géo-IDE ISO 19139, CKAN, udata, ckanext-dcat and udata
DCAT, OpenDataSoft). The same seed gives byte-identical output.

  make_catalog.py OUTDIR                          # 8,000 records, 33 partners, seed 42
  make_catalog.py OUTDIR --records 330            # a small catalogue for the tests
  make_catalog.py OUTDIR --changes                # the same catalogue after a day of edits at the
                                                  # partners: some records updated, added, withdrawn
                                                  # (manifest.json "changes" holds the counts)
Needs python3-lxml.
"""
import argparse, copy, datetime, json, math, os, random, re, sys, uuid
from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DATA = os.environ.get("IDEO_SHARED_DATA", os.path.normpath(os.path.join(ROOT, "..", "shared", "data")))
CAT = os.path.join(DATA, "catalog")

NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
      "gmx": "http://www.isotc211.org/2005/gmx", "xlink": "http://www.w3.org/1999/xlink",
      "csw": "http://www.opengis.net/cat/csw/2.0.2", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
      "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
      "locn": "http://www.w3.org/ns/locn#", "xml": "http://www.w3.org/XML/1998/namespace"}
RDF, DCAT, DCT, FOAF, XSD = NS["rdf"], NS["dcat"], NS["dct"], NS["foaf"], "http://www.w3.org/2001/XMLSchema#"
GSP_WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"
HYDRA = "http://www.w3.org/ns/hydra/core#"

DEPTS = {"21": "Côte-d'Or", "25": "Doubs", "39": "Jura", "58": "Nièvre", "70": "Haute-Saône",
         "71": "Saône-et-Loire", "89": "Yonne", "90": "Territoire de Belfort"}
DEPT_FILES = {"21": "21-cote-d-or", "25": "25-doubs", "39": "39-jura", "58": "58-nievre", "70": "70-haute-saone",
              "71": "71-saone-et-loire", "89": "89-yonne", "90": "90-territoire-de-belfort"}

# The portal's 14 themes (layers/catalog/themes.json): what partners publish under each, the
# keywords they tag it with (folded, they hit the theme's rules), its ISO topic category and INSPIRE theme.
THEMES = [
    ("Administration et action publique",
     ["Budget primitif", "Délibérations du conseil municipal", "Marchés publics attribués", "Subventions versées aux associations",
      "Résultats des élections municipales", "Services publics de proximité"],
     ["Administration", "Action publique", "Collectivités", "Budget", "Délibérations"], None, None),
    ("Agriculture et forêt",
     ["Registre parcellaire graphique", "Forêts publiques relevant du régime forestier", "Exploitations agricoles",
      "Aires d'appellation viticole", "Desserte forestière", "Parcelles agricoles en bio"],
     ["Agriculture", "Forêt", "Parcelles agricoles", "Sylviculture", "Viticulture"], "farming",
     ("af", "Installations agricoles et aquacoles")),
    ("Aménagement et urbanisme",
     ["Plan local d'urbanisme", "Schéma de cohérence territoriale", "Permis de construire délivrés",
      "Logements locatifs sociaux", "Occupation du sol à grande échelle", "Zonage du PLUi"],
     ["Urbanisme", "Aménagement", "PLU", "Document d'urbanisme", "Habitat"], "planningCadastre",
     ("lu", "Usage des sols")),
    ("Culture, patrimoine et tourisme",
     ["Monuments historiques", "Musées de France", "Sentiers de randonnée", "Hébergements touristiques",
      "Bibliothèques et médiathèques", "Sites patrimoniaux remarquables"],
     ["Culture", "Patrimoine", "Tourisme", "Randonnée", "Monuments historiques"], None, None),
    ("Économie et emploi",
     ["Zones d'activités économiques", "Établissements et entreprises", "Commerces de proximité",
      "Emploi salarié par secteur", "Marchés de plein air"],
     ["Économie", "Emploi", "Entreprises", "Commerce", "Zones d'activités"], "economy",
     ("pf", "Lieux de production et sites industriels")),
    ("Éducation et recherche",
     ["Écoles maternelles et élémentaires", "Collèges publics et privés", "Lycées", "Établissements d'enseignement supérieur",
      "Cartes scolaires"],
     ["Éducation", "Enseignement", "Écoles", "Collèges", "Formation"], None, None),
    ("Énergie et climat",
     ["Qualité de l'air", "Installations photovoltaïques", "Parcs éoliens", "Unités de méthanisation",
      "Émissions de gaz à effet de serre", "Consommations d'énergie"],
     ["Énergie", "Climat", "Qualité de l'air", "Éolien", "Photovoltaïque"], "climatologyMeteorologyAtmosphere",
     ("er", "Sources d'énergie")),
    ("Environnement et biodiversité",
     ["Réseau d'eau potable", "Captages d'eau potable et périmètres de protection", "Zones humides", "Sites Natura 2000",
      "ZNIEFF de type 1", "Cours d'eau", "Stations de traitement des eaux usées", "Points d'apport volontaire des déchets"],
     ["Environnement", "Eau potable", "Biodiversité", "Zones humides", "Assainissement", "Cours d'eau"], "environment",
     ("hy", "Hydrographie")),
    ("Foncier et cadastre",
     ["Parcelles cadastrales", "Demandes de valeurs foncières", "Mutations foncières", "Propriétés publiques"],
     ["Foncier", "Cadastre", "Parcellaire", "DVF"], "planningCadastre", ("cp", "Parcelles cadastrales")),
    ("Limites administratives et référentiels",
     ["Limites communales", "Base adresse locale", "Orthophotographie", "Modèle numérique de terrain",
      "Périmètres des EPCI"],
     ["Limites administratives", "Communes", "Adresses", "Orthophotographie", "Référentiel"], "boundaries",
     ("au", "Unités administratives")),
    ("Mobilités et transports",
     ["Arrêts de bus", "Aménagements cyclables", "Parkings", "Accidents corporels de la circulation",
      "Gares et haltes ferroviaires", "Aires de covoiturage"],
     ["Transport", "Mobilité", "Vélo", "Stationnement", "Covoiturage"], "transportation",
     ("tn", "Réseaux de transport")),
    ("Réseaux et équipements",
     ["Réseau d'éclairage public", "Déploiement de la fibre optique", "Canalisations de transport de gaz",
      "Équipements publics", "Antennes de téléphonie mobile"],
     ["Réseaux", "Équipements", "Fibre", "Numérique", "Éclairage public"], "utilitiesCommunication",
     ("us", "Services d'utilité publique et services publics")),
    ("Risques et sécurité",
     ["Points d'eau incendie (PEI)", "Défense extérieure contre l'incendie", "Plan de prévention du risque inondation",
      "Installations classées (ICPE)", "Établissements recevant du public (ERP)", "Risques technologiques"],
     ["Risques", "Défense incendie", "Sécurité", "Inondation", "DECI"], None, ("nz", "Zones à risque naturel")),
    ("Social santé et sport",
     ["Équipements sportifs", "Établissements de santé", "Médecins généralistes", "Population légale",
      "Accessibilité des établissements", "Établissements pour personnes âgées"],
     ["Santé", "Sport", "Social", "Population", "Accessibilité"], "health",
     ("hh", "Santé et sécurité des personnes")),
]

# (id, name, variant, weight, departments, publishers): 33 partners, as on a regional portal of portals.
PARTNERS = [
    ("ign-geoplateforme", "IGN (Géoplateforme)", "csw-iso", 22, None, ["IGN"]),
    ("dreal-bfc", "DREAL Bourgogne-Franche-Comté (GeoNetwork)", "csw-iso", 18, None, ["DREAL Bourgogne-Franche-Comté"]),
    ("ddt21", "DDT de la Côte-d'Or (Géo-IDE)", "csw-iso-post", 9, ["21"], ["DDT de la Côte-d'Or"]),
    ("ddt25", "DDT du Doubs (Géo-IDE)", "csw-iso-post", 8, ["25"], ["DDT du Doubs"]),
    ("ddt39", "DDT du Jura (Géo-IDE)", "csw-iso-post", 6, ["39"], ["DDT du Jura"]),
    ("ddt58", "DDT de la Nièvre (Géo-IDE)", "csw-iso", 5, ["58"], ["DDT de la Nièvre"]),
    ("ddt70", "DDT de la Haute-Saône (Géo-IDE)", "csw-iso", 5, ["70"], ["DDT de la Haute-Saône"]),
    ("ddt71", "DDT de Saône-et-Loire (Géo-IDE)", "csw-iso", 8, ["71"], ["DDT de Saône-et-Loire"]),
    ("ddt89", "DDT de l'Yonne (Géo-IDE)", "csw-iso", 6, ["89"], ["DDT de l'Yonne"]),
    ("ddt90", "DDT du Territoire de Belfort (Géo-IDE)", "csw-iso", 3, ["90"], ["DDT du Territoire de Belfort"]),
    ("region-bfc-geo", "Région Bourgogne-Franche-Comté (GeoNetwork)", "csw-iso", 10, None,
     ["Région Bourgogne-Franche-Comté", "IDÉO BFC"]),
    ("pnr-morvan", "Parc naturel régional du Morvan", "csw-iso", 2, ["21", "58", "71", "89"], ["PNR du Morvan"]),
    ("ofb-bfc", "OFB Bourgogne-Franche-Comté (CSW)", "csw-dc", 4, None, ["Office français de la biodiversité"]),
    ("sdis21", "SDIS de la Côte-d'Or (CSW)", "csw-dc", 2, ["21"], ["SDIS 21"]),
    ("brgm-bfc", "BRGM Bourgogne-Franche-Comté (CSW)", "csw-dc", 3, None, ["BRGM"]),
    ("dijon-metropole", "Dijon Métropole (CKAN)", "ckan", 6, ["21"], ["Dijon Métropole", "Ville de Dijon"]),
    ("grand-besancon", "Grand Besançon Métropole (CKAN)", "ckan", 5, ["25"], ["Grand Besançon Métropole"]),
    ("pays-montbeliard", "Pays de Montbéliard Agglomération (CKAN)", "ckan", 3, ["25"], ["Pays de Montbéliard Agglomération"]),
    ("cd71", "Département de Saône-et-Loire (CKAN)", "ckan", 4, ["71"], ["Département de Saône-et-Loire"]),
    ("datagouv-bfc", "data.gouv.fr, organisations de BFC (udata)", "udata", 7, None,
     ["Ville de Besançon", "Ville d'Auxerre", "Communauté urbaine Creusot Montceau", "Ville de Chalon-sur-Saône"]),
    ("cd25", "Département du Doubs (udata)", "udata", 3, ["25"], ["Département du Doubs"]),
    ("grand-chalon", "Le Grand Chalon (udata)", "udata", 3, ["71"], ["Le Grand Chalon"]),
    ("auxerrois", "Communauté de l'Auxerrois (udata)", "udata", 2, ["89"], ["Communauté de l'Auxerrois"]),
    ("opendata-bfc", "Région Bourgogne-Franche-Comté (DCAT RDF/XML)", "dcat-rdfxml", 6, None, ["Région Bourgogne-Franche-Comté"]),
    ("ars-bfc", "ARS Bourgogne-Franche-Comté (DCAT RDF/XML)", "dcat-rdfxml", 3, None, ["ARS Bourgogne-Franche-Comté"]),
    ("atmo-bfc", "Atmo BFC (DCAT RDF/XML)", "dcat-rdfxml", 2, None, ["Atmo Bourgogne-Franche-Comté"]),
    ("opteer", "OPTEER, observatoire de l'énergie (DCAT Turtle)", "dcat-turtle", 3, None, ["OPTEER"]),
    ("cd39", "Département du Jura (DCAT Turtle)", "dcat-turtle", 3, ["39"], ["Département du Jura"]),
    ("grand-dole", "Grand Dole (DCAT JSON-LD)", "dcat-jsonld", 2, ["39"], ["Grand Dole"]),
    ("nevers-agglo", "Nevers Agglomération (DCAT JSON-LD)", "dcat-jsonld", 3, ["58"], ["Nevers Agglomération"]),
    ("grand-belfort", "Grand Belfort (OpenDataSoft)", "ods", 4, ["90"], ["Grand Belfort", "Ville de Belfort"]),
    ("macon-agglo", "Mâconnais Beaujolais Agglomération (OpenDataSoft)", "ods", 2, ["71"], ["MBA"]),
    ("cd89", "Département de l'Yonne (OpenDataSoft DCAT export)", "ods-dcat", 2, ["89"], ["Département de l'Yonne"]),
]
assert len(PARTNERS) == 33

# ideo's partner file per variant (the harvester's options), the path the simulator serves, the
# answer's media type, the page size ideo asks for and the largest page the portal grants.
VARIANTS = {
    "csw-iso": dict(protocol="csw", path="/csw", media="application/xml; charset=UTF-8", page_size=50, max_page=100,
                    paging="csw", options={}),
    "csw-iso-post": dict(protocol="csw", path="/csw/csw", media="text/xml;charset=UTF-8", page_size=50, max_page=100,
                         paging="csw", options={"method": "POST"}),
    "csw-dc": dict(protocol="csw", path="/csw", media="application/xml; charset=UTF-8", page_size=100, max_page=100,
                   paging="csw", options={"outputSchema": "http://www.opengis.net/cat/csw/2.0.2", "typeNames": "csw:Record"}),
    "ckan": dict(protocol="ckan", path="/api/3/action/package_search", url_path="/", media="application/json",
                 page_size=100, max_page=1000, paging="ckan", options={}),
    "udata": dict(protocol="udata", path="/api/1/datasets/", url_path="/", media="application/json", page_size=50,
                  max_page=100, paging="udata", options={}),
    "dcat-rdfxml": dict(protocol="dcat", path="/catalog.rdf", media="application/rdf+xml; charset=utf-8", page_size=0,
                        max_page=50, paging="hydra", options={}),
    "dcat-turtle": dict(protocol="dcat", path="/catalog.ttl", media="text/turtle; charset=utf-8", page_size=0,
                        max_page=50, paging="hydra", options={}),
    "dcat-jsonld": dict(protocol="dcat", path="/catalog.jsonld", media="application/ld+json", page_size=0,
                        max_page=50, paging="hydra", options={}),
    "ods": dict(protocol="ods", path="/api/explore/v2.1/catalog/datasets", url_path="/", media="application/json; charset=utf-8",
                page_size=100, max_page=100, paging="offset", options={}),
    "ods-dcat": dict(protocol="ods", path="/api/explore/v2.1/catalog/exports/dcat", media="application/rdf+xml; charset=utf-8",
                     page_size=0, max_page=0, paging="single", options={"format": "dcat"}),
}


def read(path):
    with open(os.path.join(CAT, path), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- places: real BFC communes and departments

def envelope(coords, env=None):
    env = env or [180.0, 90.0, -180.0, -90.0]
    if coords and isinstance(coords[0], (int, float)):
        x, y = coords[0], coords[1]
        return [min(env[0], x), min(env[1], y), max(env[2], x), max(env[3], y)]
    for c in coords:
        env = envelope(c, env)
    return env


def load_places():
    population = {c["code"]: c["population"] for c in json.load(open(os.path.join(DATA, "communes", "communes-bfc-insee.json")))}
    communes, depts = {}, {}
    for dept, stem in sorted(DEPT_FILES.items()):
        for f in json.load(open(os.path.join(DATA, "communes", f"communes-{stem}.geojson")))["features"]:
            code, name = f["properties"]["code"], f["properties"]["nom"]
            box = [round(v, 5) for v in envelope(f["geometry"]["coordinates"])]
            communes.setdefault(dept, []).append((code, name, box, population.get(code, 100)))
        outline = json.load(open(os.path.join(DATA, "communes", f"departement-{stem}.geojson")))
        geom = outline["features"][0]["geometry"] if "features" in outline else outline["geometry"]
        depts[dept] = [round(v, 5) for v in envelope(geom["coordinates"])]
    region = [min(b[0] for b in depts.values()), min(b[1] for b in depts.values()),
              max(b[2] for b in depts.values()), max(b[3] for b in depts.values())]
    return communes, depts, region


# ---------------------------------------------------------------- what each record says

def make_specs(rng, total, places):
    communes, depts, region = places
    weights = [p[3] for p in PARTNERS]
    counts = [max(1, int(total * w / sum(weights))) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    specs = {}
    serial = 0
    for (pid, name, variant, _, scope, publishers), n in zip(PARTNERS, counts):
        prng = random.Random(f"{rng.random()}-{pid}")
        rows = []
        for i in range(n):
            rows.append(make_record(prng, pid, scope, publishers, communes, depts, region, serial))
            serial += 1
        specs[pid] = rows
    return specs


def make_record(rng, pid, scope, publishers, communes, depts, region, serial):
    # Themes in turn, so every one of the 14 holds records at every size.
    theme = THEMES[serial % len(THEMES)] if serial < len(THEMES) else rng.choice(THEMES)
    subject = rng.choice(theme[1])
    dept = rng.choice(scope) if scope else rng.choice(sorted(DEPTS))
    level = rng.random()
    if level < 0.7:
        towns = sorted(communes[dept], key=lambda c: (-c[3], c[0]))  # larger towns publish more
        code, cname, box, _ = towns[min(len(towns) - 1, int(len(towns) * rng.random() ** 3))]
        place, where = cname, f"de la commune de {cname} ({code})"
    elif level < 0.93 or scope:
        box = depts[dept]
        place, where = DEPTS[dept], f"du département {DEPTS[dept]} ({dept})"
    else:
        box = region
        place, where = "Bourgogne-Franche-Comté", "de la région Bourgogne-Franche-Comté"
    year = rng.randint(2012, 2025)
    title = f"{subject} - {place}" + (f" ({year})" if rng.random() < 0.3 else "")
    issued = datetime.datetime(year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(6, 19), rng.randint(0, 59), rng.randint(0, 59))
    modified = min(issued + datetime.timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399)),
                   datetime.datetime(2025, 12, 31, 12, 0, 0))
    keywords = rng.sample(theme[2], k=min(len(theme[2]), rng.randint(2, 4))) + [place]
    if rng.random() < 0.2:
        other = rng.choice(THEMES)
        keywords.append(rng.choice(other[2]))
    return dict(
        uid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), theme=theme, subject=subject, title=title,
        description=(f"{subject} {where}. Données produites et mises à jour par {publishers[0]}, "
                     f"diffusées sous Licence Ouverte 2.0. Millésime {year}."),
        keywords=keywords, bbox=box, issued=issued, modified=modified, publisher=rng.choice(publishers),
        template=rng.random(), slug=slugify(title)[:80] + "-" + str(serial))


def slugify(s):
    s = s.lower()
    for a, b in (("àâä", "a"), ("éèêë", "e"), ("îï", "i"), ("ôö", "o"), ("ùûü", "u"), ("ç", "c"), ("œ", "oe")):
        for c in a:
            s = s.replace(c, b)
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def apply_changes(rng, specs, places):
    """A day at the partners: records edited (new text, later date), published, unpublished."""
    communes, depts, region = places
    changed = {"updated": 0, "added": 0, "withdrawn": 0}
    ids = sorted(specs)
    picks = [ids[i] for i in range(0, len(ids), 2)]  # every other partner, so every protocol is touched
    per = max(1, sum(len(v) for v in specs.values()) // 800)
    for n, pid in enumerate(picks):
        rows = specs[pid]
        _, _, _, _, scope, publishers = next(p for p in PARTNERS if p[0] == pid)
        prng = random.Random(f"changes-{pid}")
        edited = prng.sample(range(len(rows)), k=min(len(rows) // 3, per))
        for i in edited:
            r = rows[i]
            r["description"] += " Mise à jour : corrections de géométrie et nouveaux attributs."
            r["title"] = r["title"] + " - mise à jour"
            r["modified"] = r["modified"] + datetime.timedelta(days=30)
            changed["updated"] += 1
        if len(rows) > 6 and n % 2 == 0:
            kept = [i for i in range(len(rows)) if i not in edited]
            gone = set(prng.sample(kept, k=min(len(kept) // 3, max(1, per // 2))))
            rows[:] = [r for i, r in enumerate(rows) if i not in gone]
            changed["withdrawn"] += len(gone)
        if n % 3 != 2:
            for k in range(max(1, per // 3 * 2)):
                rec = make_record(prng, pid, scope, publishers, communes, depts, region, 100000 + n * 100 + k)
                rows.insert(prng.randrange(len(rows) + 1), rec)
                changed["added"] += 1
    return changed


# ---------------------------------------------------------------- formats

def iso_date(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S")


def wkt(box):
    w, s, e, n = box
    return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"


def polygon(box):
    w, s, e, n = box
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def xml_string(el):
    return etree.tostring(el, encoding="unicode")


class IsoTemplates:
    """The real ISO 19139 records (Géo-IDE, GeoNetwork, GéoBretagne, Géoplateforme), edited per record."""
    FILES = ["csw/geoide-ddt24-getrecords.xml", "csw/udata_geonetwork-iso19139-page-1.xml",
             "csw/udata_geonetwork-iso19139-page-3.xml", "csw/udata_geonetwork-iso19139-page-5.xml",
             "csw/csw_geobretagne_mdmetadata.xml", "csw/ign_geoplateforme_metadonnee_produit.xml",
             "csw/udata_geoplateforme-iso19139-IGNF_RPG.xml"]

    def __init__(self):
        self.records = []
        for f in self.FILES:
            tree = etree.fromstring(read(f).encode("utf-8"), etree.XMLParser(remove_blank_text=False, huge_tree=True))
            for md in tree.xpath("//gmd:MD_Metadata[not(ancestor::gmd:MD_Metadata)]", namespaces=NS):
                self.records.append(md)
        # The Géo-IDE answer's envelope: GetRecordsResponse, SearchStatus, SearchResults.
        text = read("csw/geoide-ddt24-getrecords.xml")
        start = text.index("<csw:SearchResults")
        head_end = text.index(">", start) + 1
        head = text[:head_end]
        head = re.sub(r'numberOfRecordsMatched="\d+"', 'numberOfRecordsMatched="{{matched}}"', head)
        head = re.sub(r'numberOfRecordsReturned="\d+"', 'numberOfRecordsReturned="{{returned}}"', head)
        head = re.sub(r'nextRecord="\d+"', 'nextRecord="{{next_record}}"', head)
        head = re.sub(r'timestamp="[^"]*"', 'timestamp="{{timestamp}}"', head)
        self.head = head + "\n"
        self.tail = "\n" + text[text.index("</csw:SearchResults>"):].rstrip() + "\n"

    def pick(self, spec):
        # The large Géoplateforme RPG record is rare, as such records are on a portal.
        n = len(self.records) - 1
        return self.records[int(spec["template"] * n)] if spec["template"] < 0.97 else self.records[-1]

    def render(self, spec):
        src = self.pick(spec)
        md = copy.deepcopy(src)
        x = lambda el, p: el.xpath(p, namespaces=NS)
        old_id = (x(md, "string(gmd:fileIdentifier/*)") or "").strip()
        ident = x(md, "gmd:identificationInfo/*")[0]
        for t in x(ident, "gmd:citation/*/gmd:title/*"):
            t.text = spec["title"]
        for t in x(ident, "gmd:abstract/*"):
            t.text = spec["description"]
        for o in x(md, ".//gmd:organisationName/*"):
            o.text = spec["publisher"]
        theme = spec["theme"]
        blocks = x(ident, "gmd:descriptiveKeywords/gmd:MD_Keywords")
        inspire = [b for b in blocks if "inspire" in (x(b, "string(gmd:thesaurusName/*/gmd:title/*)") or "").lower()]
        free = [b for b in blocks if b not in inspire]
        for b in inspire:
            kws = x(b, "gmd:keyword")
            for extra in kws[1:]:
                b.remove(extra)
            if kws and theme[4]:
                k = kws[0][0]
                k.text = theme[4][1]
                if etree.QName(k).localname == "Anchor":
                    k.set(f"{{{NS['xlink']}}}href", f"http://inspire.ec.europa.eu/theme/{theme[4][0]}")
        if free:
            block = free[0]
        else:
            dk = etree.SubElement(ident, f"{{{NS['gmd']}}}descriptiveKeywords")
            anchor = x(ident, "gmd:abstract")[0]
            anchor.addnext(dk)
            block = etree.SubElement(dk, f"{{{NS['gmd']}}}MD_Keywords")
        kws = x(block, "gmd:keyword")
        proto = kws[0] if kws else None
        for k in kws:
            block.remove(k)
        for i, word in enumerate(spec["keywords"]):
            if proto is not None:
                k = copy.deepcopy(proto)
                k[0].text = word
                if etree.QName(k[0]).localname == "Anchor":  # a free keyword has no concept to point at
                    k[0].tag = f"{{{NS['gco']}}}CharacterString"
                    k[0].attrib.clear()
            else:
                k = etree.Element(f"{{{NS['gmd']}}}keyword")
                etree.SubElement(k, f"{{{NS['gco']}}}CharacterString").text = word
            block.insert(i, k)
        cats = x(ident, "gmd:topicCategory")
        if cats and theme[3]:
            cats[0][0].text = theme[3]
            for extra in cats[1:]:
                ident.remove(extra)
        w, s, e, n = spec["bbox"]
        for b in x(ident, ".//gmd:EX_GeographicBoundingBox"):
            for name, v in (("westBoundLongitude", w), ("eastBoundLongitude", e), ("southBoundLatitude", s), ("northBoundLatitude", n)):
                for d in x(b, f"gmd:{name}/*"):
                    d.text = str(v)
        for d in x(ident, "gmd:citation/*/gmd:date/gmd:CI_Date"):
            kind = x(d, "string(gmd:dateType/*/@codeListValue)")
            for v in x(d, "gmd:date/*"):
                day = spec["modified"] if kind == "revision" else spec["issued"]
                v.text = iso_date(day) if etree.QName(v).localname == "DateTime" else day.strftime("%Y-%m-%d")
        for v in x(md, "gmd:dateStamp/*"):
            v.text = iso_date(spec["modified"]) if etree.QName(v).localname == "DateTime" else spec["modified"].strftime("%Y-%m-%d")
        for f in x(md, "gmd:fileIdentifier/*"):
            f.text = spec["uid"]
        out = xml_string(md)
        return out.replace(old_id, spec["uid"]) if old_id else out

    def dc(self, spec):
        """The record as GeoNetwork's csw:Record (its ISO-to-Dublin-Core output) from the same edited ISO document."""
        md = etree.fromstring(self.render(spec).encode("utf-8"))
        x = lambda p: md.xpath(p, namespaces=NS)
        rec = etree.Element(f"{{{NS['csw']}}}Record", nsmap={
            "csw": NS["csw"], "dc": "http://purl.org/dc/elements/1.1/", "dct": NS["dct"],
            "geonet": "http://www.fao.org/geonetwork", "ows": "http://www.opengis.net/ows"})
        dc = lambda element, text, **attrs: _sub(rec, "http://purl.org/dc/elements/1.1/", element, text, attrs)
        dct = lambda element, text, **attrs: _sub(rec, NS["dct"], element, text, attrs)
        dc("identifier", spec["uid"])
        dc("date", spec["issued"].strftime("%Y-%m-%d"))
        dc("title", spec["title"])
        dc("type", "dataset")
        for k in spec["keywords"]:
            dc("subject", k)
        if spec["theme"][3]:
            dc("subject", spec["theme"][3])
        for fmt in x("gmd:distributionInfo/*/gmd:distributionFormat/*/gmd:name/*/text()")[:1]:
            dc("format", fmt)
        dct("modified", iso_date(spec["modified"]))
        dct("abstract", spec["description"])
        dc("description", spec["description"])
        dc("rights", "Licence Ouverte 2.0")
        dc("language", "fre")
        dc("publisher", spec["publisher"])
        w, s, e, n = spec["bbox"]
        bb = etree.SubElement(rec, "{http://www.opengis.net/ows}BoundingBox", crs="urn:ogc:def:crs:EPSG:6.6:4326")
        etree.SubElement(bb, "{http://www.opengis.net/ows}LowerCorner").text = f"{s} {w}"
        etree.SubElement(bb, "{http://www.opengis.net/ows}UpperCorner").text = f"{n} {e}"
        for o in x("gmd:distributionInfo//gmd:CI_OnlineResource"):
            url = o.xpath("string(gmd:linkage/gmd:URL)", namespaces=NS).strip()
            if not url:
                continue
            attrs = {"protocol": o.xpath("string(gmd:protocol/*)", namespaces=NS).strip(),
                     "name": o.xpath("string(gmd:name/*)", namespaces=NS).strip(),
                     "description": o.xpath("string(gmd:description/*)", namespaces=NS).strip()}
            dc("URI", url, **{k: v for k, v in attrs.items() if v})
        return xml_string(rec)



def _sub(parent, ns, name, text, attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{name}", **attrs)
    el.text = text
    return el


class CkanTemplates:
    """DataSud's real package_search answer (CKAN): its packages, edited per record."""

    def __init__(self):
        self.page = json.loads(read("ckan/datasud_package_search.json"))
        self.packages = self.page["result"]["results"]
        envelope_doc = copy.deepcopy(self.page)
        envelope_doc["result"]["count"] = "@@COUNT@@"
        envelope_doc["result"]["results"] = ["@@RESULTS@@"]
        envelope_doc["result"]["facets"] = {"count_by_scope": {"dataset": "@@COUNT@@"}}
        envelope_doc["result"]["search_facets"]["count_by_scope"]["items"][0]["count"] = "@@COUNT@@"
        text = json.dumps(envelope_doc, ensure_ascii=False).replace('"@@COUNT@@"', "{{matched}}")
        self.head, self.tail = text.split('"@@RESULTS@@"')

    def render(self, spec):
        src = self.packages[int(spec["template"] * len(self.packages))]
        p = copy.deepcopy(src)
        old_id, old_name = p["id"], p["name"]
        p["id"], p["name"], p["title"], p["notes"] = spec["uid"], spec["slug"], spec["title"], spec["description"]
        p["metadata_created"] = spec["issued"].isoformat() + "+00:00"
        p["metadata_modified"] = spec["modified"].isoformat() + "+00:00"
        org = p.get("organization") or {}
        org["title"] = spec["publisher"]
        org["name"] = slugify(spec["publisher"])
        p["organization"], p["owner_org"], p["author"] = org, org["name"], spec["publisher"]
        proto = (p.get("tags") or [{"vocabulary_id": None, "id": "0", "name": "", "display_name": "", "state": "active"}])[0]
        p["tags"] = []
        for i, k in enumerate(spec["keywords"]):
            t = dict(proto)
            t.update(id=str(abs(hash_str(k)) % 100000), name=k, display_name=k)
            p["tags"].append(t)
        p["num_tags"] = len(p["tags"])
        p["extras"] = [e for e in p.get("extras", []) if e.get("key") != "spatial"] + [
            {"key": "spatial", "value": json.dumps(polygon(spec["bbox"]))}]
        text = json.dumps(p, ensure_ascii=False)
        return text.replace(old_id, spec["uid"]).replace(old_name, spec["slug"])


def hash_str(s):
    h = 0
    for c in s.encode("utf-8"):
        h = (h * 131 + c) % (1 << 61)
    return h


class UdataTemplates:
    """The datasets udata wrote in its recorded harvests (Géo-IDE, DataSud, Cap Atlantique), as API v1 answers."""

    def __init__(self):
        self.datasets = []
        for f in ("udata_snapshots/csw-geoide-ddt24.json", "udata_snapshots/ckan-datasud.json",
                  "udata_snapshots/dcat-ods-capatlantique.json"):
            self.datasets += json.loads(read(f))["datasets"]
        self.head = '{"data": ['
        self.tail = ('], "next_page": {{next_url_json}}, "page": {{page}}, "page_size": {{page_size}}, '
                     '"previous_page": {{prev_url_json}}, "total": {{matched}}}')

    def render(self, spec, partner_host):
        src = self.datasets[int(spec["template"] * len(self.datasets))]
        d = copy.deepcopy(src)
        old_id = d["id"]
        # API v1 names the internal dates created_at / last_modified and gives the organisation inline.
        d["id"], d["title"], d["slug"], d["description"] = spec["uid"], spec["title"], spec["slug"], spec["description"]
        d["tags"] = [slugify(k) for k in spec["keywords"]]
        d["created_at"] = iso_date(spec["issued"])
        d["last_modified"] = d["last_update"] = iso_date(spec["modified"])
        for k in ("created_at_internal", "last_modified_internal"):
            d.pop(k, None)
        d["organization"] = {"id": f"{hash_str(spec['publisher']):024x}"[-24:], "name": spec["publisher"],
                             "slug": slugify(spec["publisher"]), "uri": f"https://{partner_host}/api/1/organizations/{slugify(spec['publisher'])}/"}
        d["spatial"] = {"geom": {"type": "MultiPolygon", "coordinates": [polygon(spec["bbox"])["coordinates"]]},
                        "zones": [], "granularity": "other"}
        d["license"] = "lov2"
        d["page"] = f"https://{partner_host}/fr/datasets/{spec['slug']}/"
        d["uri"] = f"https://{partner_host}/api/1/datasets/{spec['slug']}/"
        for i, r in enumerate(d.get("resources", [])):
            r["id"] = str(uuid.uuid5(uuid.UUID(spec["uid"]), str(i)))
            r.pop("_id", None)
            for k, v in (("created_at_internal", "created_at"), ("last_modified_internal", "last_modified")):
                if k in r:
                    r[v] = iso_date(spec["modified"])
                    r.pop(k)
        return json.dumps(d, ensure_ascii=False).replace(old_id, spec["uid"])


class OdsTemplates:
    """OpenDataSoft's datasets (udata-ods fixtures, API v1) in the v2.1 catalog's shape: dataset_id, metas.default."""

    def __init__(self):
        self.datasets = json.loads(read("ods/udata-ods_search.json"))["datasets"] + [
            json.loads(read("ods/udata-ods_test-a.json")), json.loads(read("ods/udata-ods_inspire.json")),
            json.loads(read("ods/udata-ods_with-attachments.json"))]
        self.head = '{"total_count": {{matched}}, "results": ['
        self.tail = "]}"

    def render(self, spec, partner_host):
        src = copy.deepcopy(self.datasets[int(spec["template"] * len(self.datasets))])
        metas = src.pop("metas", {})
        interop = src.pop("interop_metas", {})
        src.pop("datasetid", None)
        metas.update(title=spec["title"], description=f"<p>{spec['description']}</p>", keyword=spec["keywords"],
                     theme=[spec["theme"][0]], publisher=spec["publisher"], modified=iso_date(spec["modified"]) + "+00:00",
                     metadata_processed=iso_date(spec["modified"]) + "+00:00", license="Licence Ouverte v2.0",
                     language="fr", domain=partner_host.split(".")[0])
        w, s, e, n = spec["bbox"]
        inspire = dict(interop.get("inspire", {}))
        inspire.update(hierarchy_level="dataset", file_identifier=spec["uid"],
                       extend_bounding_box_westbound_longitude=str(w), extend_bounding_box_southbound_latitude=str(s),
                       extend_bounding_box_eastbound_longitude=str(e), extend_bounding_box_northbound_latitude=str(n))
        out = {"visibility": "domain", "dataset_id": spec["slug"], "dataset_uid": "da_" + spec["uid"][:6],
               "has_records": src.get("has_records", True), "data_visible": True, "features": src.get("features", []),
               "metas": {"default": metas, "inspire": inspire}, "fields": src.get("fields", []),
               "attachments": src.get("attachments", []), "alternative_exports": src.get("alternative_exports", [])}
        for a in out["alternative_exports"] + out["attachments"]:
            a["url"] = f"https://{partner_host}/api/explore/v2.1/catalog/datasets/{spec['slug']}/attachments/{a.get('id', 'file')}"
        return json.dumps(out, ensure_ascii=False)


class DcatTemplates:
    """DCAT datasets: GeoNetwork's GeoDCAT-AP (DATARA), OpenDataSoft's export (Cap Atlantique) and udata's
    catalogue in RDF/XML; udata's Hydra-paged catalogue in JSON-LD, also written as Turtle (udata serves both)."""

    def __init__(self):
        self.rdf = []
        parser = etree.XMLParser(remove_blank_text=False, huge_tree=True)
        datara = etree.fromstring(read("dcat/udata_datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml").encode(), parser)
        self.rdf += [d for d in datara.xpath("rdf:Description[rdf:type/@rdf:resource='http://www.w3.org/ns/dcat#Dataset']", namespaces=NS)]
        capa = etree.fromstring(read("ods/capatlantique_dcat_export.rdf").encode(), parser)
        self.export = capa
        self.rdf += capa.xpath("//dcat:Dataset", namespaces=NS)
        udata_xml = etree.fromstring(read("dcat/udata_catalog.xml").encode(), parser)
        self.rdf += udata_xml.xpath("//dcat:Dataset", namespaces=NS)
        self.jsonld = []
        nodes = {}
        for f in ("dcat/udata_paged-collection-1.jsonld", "dcat/udata_paged-collection-2.jsonld"):
            for n in json.loads(read(f)):
                nodes[n["@id"]] = n
        for n in nodes.values():
            if DCAT + "Dataset" in n.get("@type", []):
                linked = [nodes[r["@id"]] for p in (DCAT + "distribution", DCT + "temporal")
                          for r in n.get(p, []) if r.get("@id") in nodes]
                self.jsonld.append((n, linked))

    # RDF/XML: the dataset element edited in place, one `dcat:dataset` of the page's catalogue.
    def render_rdfxml(self, spec, partner_host):
        src = self.rdf[int(spec["template"] * len(self.rdf))]
        ds = copy.deepcopy(src)
        old = ds.get(f"{{{RDF}}}about")
        iri = f"https://{partner_host}/dataset/{spec['slug']}"
        ds.set(f"{{{RDF}}}about", iri)
        lang = f"{{{NS['xml']}}}lang"
        for el in list(ds):
            q = etree.QName(el)
            if (q.namespace, q.localname) in ((DCT, "title"), (DCT, "description"), (DCT, "identifier"), (DCAT, "keyword"),
                                              (DCT, "modified"), (DCT, "issued"), (DCT, "publisher"), (DCT, "spatial"), (DCT, "abstract")):
                ds.remove(el)
        add = lambda ns, name, text=None, **a: _rdf_prop(ds, ns, name, text, a)
        add(DCT, "title", spec["title"], **{lang: "fr"})
        add(DCT, "description", spec["description"], **{lang: "fr"})
        add(DCT, "identifier", spec["uid"])
        for k in spec["keywords"]:
            add(DCAT, "keyword", k, **{lang: "fr"})
        add(DCT, "issued", iso_date(spec["issued"]), **{f"{{{RDF}}}datatype": XSD + "dateTime"})
        add(DCT, "modified", iso_date(spec["modified"]), **{f"{{{RDF}}}datatype": XSD + "dateTime"})
        pub = add(DCT, "publisher")
        agent = etree.SubElement(pub, f"{{{FOAF}}}Organization", {f"{{{RDF}}}about": f"https://{partner_host}/organization/{slugify(spec['publisher'])}"})
        etree.SubElement(agent, f"{{{FOAF}}}name").text = spec["publisher"]
        sp = add(DCT, "spatial")
        loc = etree.SubElement(sp, f"{{{DCT}}}Location")
        etree.SubElement(loc, f"{{{DCAT}}}bbox", {f"{{{RDF}}}datatype": GSP_WKT}).text = wkt(spec["bbox"])
        text = xml_string(ds)
        if old:
            text = text.replace(old, iri)
            key = old.rstrip("/").rsplit("/", 1)[-1]
            if len(key) > 8:  # the template's own slug or UUID in its distributions' IRIs
                text = text.replace(key, spec["slug"])
        # Relative and template IRIs of distributions become this dataset's own.
        text = re.sub(r'rdf:(about|resource)="(datasets/\d+|https?://data\.test\.org/datasets/\d+)',
                      lambda m: f'rdf:{m.group(1)}="{iri}', text)
        return "<dcat:dataset>" + text + "</dcat:dataset>"

    def rdfxml_envelope(self, partner_host, title):
        head = ('<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/" '
                'xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:hydra="http://www.w3.org/ns/hydra/core#" '
                'xmlns:xsd="http://www.w3.org/2001/XMLSchema#">\n'
                f'<dcat:Catalog rdf:about="https://{partner_host}/">\n<dct:title>{esc(title)}</dct:title>\n'
                '<dct:language rdf:resource="http://id.loc.gov/vocabulary/iso639-1/fr"/>\n')
        tail = ('\n</dcat:Catalog>\n<hydra:PagedCollection rdf:about="{{self_url_xml}}">\n'
                '<hydra:totalItems rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">{{matched}}</hydra:totalItems>\n'
                '<hydra:itemsPerPage rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">{{page_size}}</hydra:itemsPerPage>\n'
                '<hydra:firstPage>{{first_url_xml}}</hydra:firstPage>\n<hydra:lastPage>{{last_url_xml}}</hydra:lastPage>\n'
                '{{next}}</hydra:PagedCollection>\n</rdf:RDF>\n')
        return head, tail, '<hydra:nextPage>{{next_url_xml}}</hydra:nextPage>\n'

    def export_envelope(self, partner_host, title):
        head = ('<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dctype="http://purl.org/dc/dcmitype/" '
                'xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dcatap="http://data.europa.eu/r5r/" '
                'xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:vcard="http://www.w3.org/2006/vcard/ns#" '
                'xmlns:xsd="http://www.w3.org/2001/XMLSchema#" xmlns:skos="http://www.w3.org/2004/02/skos/core#">'
                f'<rdf:Description rdf:about="https://{partner_host}/explore/">'
                '<rdf:type rdf:resource="http://www.w3.org/ns/dcat#Catalog" />\n'
                f'<dcterms:title><![CDATA[{title}]]></dcterms:title>\n')
        return head, "</rdf:Description></rdf:RDF>\n"

    # JSON-LD (expanded, as udata serves it): the dataset node and the nodes it owns.
    def nodes(self, spec, partner_host):
        src, linked = self.jsonld[int(spec["template"] * len(self.jsonld))]
        iri = f"https://{partner_host}/datasets/{spec['slug']}"
        old = src["@id"]
        remap = lambda s: s.replace(old, iri) if isinstance(s, str) else s
        ds = json.loads(json.dumps(src).replace(old, iri))
        lit = lambda v, **k: [dict({"@value": v}, **k)]
        ds[DCT + "title"] = lit(spec["title"])
        ds[DCT + "description"] = lit(spec["description"])
        ds[DCT + "identifier"] = lit(spec["uid"])
        ds[DCAT + "keyword"] = [{"@value": k} for k in spec["keywords"]]
        ds[DCAT + "theme"] = [{"@value": spec["theme"][0]}]
        ds[DCT + "issued"] = lit(iso_date(spec["issued"]), **{"@type": XSD + "dateTime"})
        ds[DCT + "modified"] = lit(iso_date(spec["modified"]), **{"@type": XSD + "dateTime"})
        ds[DCAT + "landingPage"] = lit(iri)
        org = f"https://{partner_host}/organizations/{slugify(spec['publisher'])}"
        ds[DCT + "publisher"] = [{"@id": org}]
        ds.pop(DCAT + "contactPoint", None)
        spatial = f"_:spatial-{spec['uid']}"
        ds[DCT + "spatial"] = [{"@id": spatial}]
        out = [ds, {"@id": org, "@type": [FOAF + "Organization"], FOAF + "name": lit(spec["publisher"])},
               {"@id": spatial, "@type": [DCT + "Location"], DCAT + "bbox": lit(wkt(spec["bbox"]), **{"@type": GSP_WKT})}]
        for n in linked:
            node = json.loads(json.dumps(n).replace(old, iri))
            if node["@id"].startswith("_:"):
                node["@id"] = node["@id"] + "-" + spec["uid"]
                for p, vs in ds.items():
                    if isinstance(vs, list):
                        for v in vs:
                            if isinstance(v, dict) and v.get("@id") == n["@id"]:
                                v["@id"] = node["@id"]
            out.append(node)
        return out

    def render_jsonld(self, spec, partner_host):
        return ",".join(json.dumps(n, ensure_ascii=False) for n in self.nodes(spec, partner_host))

    def jsonld_envelope(self, partner_host, title):
        catalog = {"@id": f"https://{partner_host}/", "@type": [DCAT + "Catalog"],
                   DCT + "title": [{"@value": title}], DCT + "language": [{"@value": "fr"}]}
        head = "[" + json.dumps(catalog, ensure_ascii=False)
        tail = (',\n{"@id": {{self_url_json}}, "@type": ["' + HYDRA + 'PagedCollection"], "' + HYDRA + 'firstPage": [{"@value": {{first_url_json}}}], '
                '"' + HYDRA + 'itemsPerPage": [{"@value": {{page_size}}}], "' + HYDRA + 'lastPage": [{"@value": {{last_url_json}}}], '
                '{{next}}"' + HYDRA + 'totalItems": [{"@value": {{matched}}}]}]\n')
        return head, tail, '"' + HYDRA + 'nextPage": [{"@value": {{next_url_json}}}], '

    # Turtle: the same graph, as udata writes it when asked for catalog.ttl.
    def render_turtle(self, spec, partner_host):
        out = []
        for n in self.nodes(spec, partner_host):
            out.append(turtle_node(n))
        return f"<https://{partner_host}/> dcat:dataset <https://{partner_host}/datasets/{spec['slug']}> .\n" + "".join(out)

    def turtle_envelope(self, partner_host, title):
        head = ("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
                "@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n@prefix hydra: <http://www.w3.org/ns/hydra/core#> .\n"
                "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\n"
                f"<https://{partner_host}/> a dcat:Catalog ;\n    dct:title {turtle_literal({'@value': title})} ;\n"
                '    dct:language "fr" .\n\n')
        tail = ("\n<{{self_url}}> a hydra:PagedCollection ;\n    hydra:totalItems {{matched}} ;\n"
                "    hydra:itemsPerPage {{page_size}} ;\n    hydra:firstPage \"{{first_url}}\" ;\n"
                "    {{next}}hydra:lastPage \"{{last_url}}\" .\n")
        return head, tail, 'hydra:nextPage "{{next_url}}" ;\n    '


def _rdf_prop(parent, ns, name, text, attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def turtle_literal(v):
    s = str(v["@value"]).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = f'"{s}"'
    if "@language" in v:
        out += "@" + v["@language"]
    elif "@type" in v:
        out += f"^^<{v['@type']}>"
    return out


def turtle_term(v):
    if "@id" in v:
        return v["@id"] if v["@id"].startswith("_:") else f"<{v['@id']}>"
    return turtle_literal(v)


def turtle_node(n):
    subject = n["@id"] if n["@id"].startswith("_:") else f"<{n['@id']}>"
    parts = []
    if n.get("@type"):
        parts.append("a " + ", ".join(f"<{t}>" for t in n["@type"]))
    for p, vs in n.items():
        if p.startswith("@"):
            continue
        parts.append(f"<{p}> " + ", ".join(turtle_term(v) for v in vs))
    return subject + "\n    " + " ;\n    ".join(parts) + " .\n"


# ---------------------------------------------------------------- output

def write_partner(out_dir, pid, name, variant, rows, templates):
    v = VARIANTS[variant]
    host = f"{pid}.portail.example"
    iso, ckan, udata, ods, dcat = templates
    records = []
    for spec in rows:
        if variant in ("csw-iso", "csw-iso-post"):
            doc = iso.render(spec)
        elif variant == "csw-dc":
            doc = iso.dc(spec)
        elif variant == "ckan":
            doc = ckan.render(spec)
        elif variant == "udata":
            doc = udata.render(spec, host)
        elif variant == "ods":
            doc = ods.render(spec, host)
        elif variant in ("dcat-rdfxml", "ods-dcat"):
            doc = dcat.render_rdfxml(spec, host)
        elif variant == "dcat-turtle":
            doc = dcat.render_turtle(spec, host)
        else:
            doc = dcat.render_jsonld(spec, host)
        records.append({"id": spec["uid"], "modified": iso_date(spec["modified"]) + "Z", "doc": doc})
    # The page: head, records joined by the separator (or each led by it), tail; `next` fills
    # {{next}} when a next page exists.
    sep, lead, nxt = "\n", False, ""
    if variant in ("csw-iso", "csw-iso-post", "csw-dc"):
        head, tail = iso.head, iso.tail
    elif variant == "ckan":
        head, tail, sep = ckan.head, ckan.tail, ", "
    elif variant == "udata":
        head, tail, sep = udata.head, udata.tail, ", "
    elif variant == "ods":
        head, tail, sep = ods.head, ods.tail, ", "
    elif variant == "dcat-rdfxml":
        head, tail, nxt = dcat.rdfxml_envelope(host, name)
    elif variant == "ods-dcat":
        head, tail = dcat.export_envelope(host, name)
    elif variant == "dcat-turtle":
        head, tail, nxt = dcat.turtle_envelope(host, name)
    else:
        (head, tail, nxt), sep, lead = dcat.jsonld_envelope(host, name), ",\n", True
    d = os.path.join(out_dir, "partners", pid)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "records.jsonl"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    sim = {"id": pid, "path": f"/{pid}{v['path']}", "paging": v["paging"], "content_type": v["media"],
           "max_page": v["max_page"], "default_page": v["max_page"] if v["paging"] == "hydra" else 10,
           "schema": "http://www.opengis.net/cat/csw/2.0.2" if variant == "csw-dc" else "http://www.isotc211.org/2005/gmd"
           if variant.startswith("csw") else "", "head": head, "separator": sep, "lead": lead, "tail": tail, "next": nxt}
    with open(os.path.join(d, "sim.json"), "w", encoding="utf-8") as f:
        json.dump(sim, f, ensure_ascii=False, indent=1)
    partner = {"id": pid, "name": name, "protocol": v["protocol"],
               "url": "{{base}}/" + pid + v.get("url_path", v["path"]), "withdraw_missing": True}
    if v["page_size"]:
        partner["page_size"] = v["page_size"]
    if v["options"]:
        partner["options"] = v["options"]
    with open(os.path.join(d, "partner.json"), "w", encoding="utf-8") as f:
        json.dump(partner, f, ensure_ascii=False, indent=1)
    return len(records)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--records", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--changes", action="store_true", help="the catalogue after a day of edits at the partners")
    a = ap.parse_args()
    if a.records < len(PARTNERS):
        sys.exit(f"--records: at least {len(PARTNERS)} (one per partner)")
    rng = random.Random(a.seed)
    places = load_places()
    specs = make_specs(rng, a.records, places)
    changes = apply_changes(random.Random(a.seed + 1), specs, places) if a.changes else None
    templates = (IsoTemplates(), CkanTemplates(), UdataTemplates(), OdsTemplates(), DcatTemplates())
    manifest = {"seed": a.seed, "records": 0, "partners": [], "themes": [t[0] for t in THEMES]}
    for pid, name, variant, *_ in PARTNERS:
        n = write_partner(a.outdir, pid, name, variant, specs[pid], templates)
        manifest["partners"].append({"id": pid, "variant": variant, "records": n})
        manifest["records"] += n
    if changes:
        manifest["changes"] = changes
    with open(os.path.join(a.outdir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    print(json.dumps({"records": manifest["records"], "partners": len(manifest["partners"]), "changes": changes}))


if __name__ == "__main__":
    main()
