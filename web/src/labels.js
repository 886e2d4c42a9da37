// Attributes of PEI, ERP and ICPE in plain French, for popups.

export const PEI_TYPES = {
  PI: "Poteau d'incendie",
  BI: "Bouche d'incendie",
  PA: "Point d'aspiration",
  CI: 'Citerne ou réserve incendie',
};

const PEI_SOURCES = {
  citerne: 'Citerne',
  plan_eau: "Plan d'eau",
  piscine: 'Piscine',
  puits: 'Puits',
  cours_eau: "Cours d'eau",
  reseau_aep: "Réseau d'eau potable",
  reseau_irrigation: "Réseau d'irrigation",
};

const ERP_TYPES = {
  J: 'Structure d’accueil pour personnes âgées ou handicapées',
  L: 'Salle d’audition, de conférence, de spectacle',
  M: 'Magasin, centre commercial',
  N: 'Restaurant, débit de boissons',
  O: 'Hôtel, pension de famille',
  P: 'Salle de danse, salle de jeux',
  R: 'Établissement d’enseignement, colonie de vacances',
  S: 'Bibliothèque, centre de documentation',
  T: 'Salle d’exposition',
  U: 'Établissement de soins',
  V: 'Établissement de culte',
  W: 'Administration, banque, bureaux',
  X: 'Établissement sportif couvert',
  Y: 'Musée',
  PA: 'Établissement de plein air',
  CTS: 'Chapiteau, tente, structure',
  SG: 'Structure gonflable',
  PS: 'Parc de stationnement couvert',
  GA: 'Gare',
  OA: 'Hôtel-restaurant d’altitude',
  EF: 'Établissement flottant',
  REF: 'Refuge de montagne',
};

export const LAYER_TITLES = {
  communes: 'Communes',
  pei: "Points d'eau incendie (PEI)",
  erp: 'Établissements recevant du public (ERP)',
  icpe: 'Installations classées (ICPE)',
  coverage: 'Couverture DECI',
};

const present = (v) => v !== undefined && v !== null && v !== '';

// "2024-03-12" (or a full ISO timestamp) as "12/03/2024".
export function frenchDate(v) {
  if (!present(v)) return null;
  const m = String(v).match(/^(\d{4})-(\d{2})-(\d{2})/);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : String(v);
}

const number = (v, unit) => {
  if (!present(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? `${n.toLocaleString('fr-FR')} ${unit}` : String(v);
};

const yesNo = (v) => {
  if (!present(v)) return null;
  return v === true || v === 1 || v === '1' || v === 'true';
};

const percent = (v) => (present(v) ? `${Math.round(Number(v) * 100)} %` : null);

// Rows [label, text] describing one feature of a layer; `p` are its properties.
export function describe(layer, p) {
  const rows = [];
  const add = (label, text) => {
    if (present(text)) rows.push([label, String(text)]);
  };
  if (p.cluster || p.point_count > 1) {
    add('Regroupement', `${p.point_count} ${layer === 'pei' ? "points d'eau" : 'établissements'}`);
    add('Disponibles', percent(p.available_share));
    add('Conformes (disponibles et débit suffisant)', percent(p.compliant_share));
    return { title: `${p.point_count} ${layer === 'pei' ? 'PEI' : layer.toUpperCase()}`, rows, hint: 'Zoomez pour voir le détail.' };
  }
  if (layer === 'pei') {
    const type = PEI_TYPES[p.type_pei] ?? p.type_pei;
    const available = yesNo(p.disponible);
    add('Type', type ? `${type}${PEI_TYPES[p.type_pei] ? ` (${p.type_pei})` : ''}` : null);
    add('Numéro', p.id_sdis);
    add('Disponibilité', available === null ? 'Non renseignée' : available ? 'Disponible' : 'Indisponible');
    add('Débit', number(p.debit, 'm³/h'));
    add('Volume', number(p.volume, 'm³'));
    add('Diamètre', number(p.diam_pei, 'mm'));
    add('Source', PEI_SOURCES[p.source_pei] ?? p.source_pei);
    add('Statut', p.statut === 'prive' ? 'Privé' : p.statut === 'public' ? 'Public' : p.statut);
    add('Dernier contrôle', frenchDate(p.date_ct) ?? 'Non renseigné');
    add('Adresse', p.situation);
    add('Gestionnaire', p.nom_gest);
    add('Commune (INSEE)', p.insee);
    return { title: type ?? "Point d'eau incendie", rows, available };
  }
  if (layer === 'erp') {
    add('Nom', p.nom);
    add('Type', p.type ? `${ERP_TYPES[p.type] ?? 'Type'} (${p.type})` : null);
    add('Catégorie', present(p.categorie) ? (Number(p.categorie) === 1 ? '1re catégorie' : `${p.categorie}e catégorie`) : null);
    add('Effectif', number(p.effectif, 'personnes'));
    add('Adresse', p.adresse);
    add('Commune', p.commune ?? p.insee);
    add('Dernière visite', frenchDate(p.date_visite));
    return { title: 'Établissement recevant du public', rows };
  }
  if (layer === 'icpe') {
    add('Établissement', p.nom_ets);
    add('Régime', p.lib_regime);
    add('Seveso', p.lib_seveso);
    add('Adresse', p.adresse);
    add('Commune', p.commune ?? p.insee);
    return { title: 'Installation classée (ICPE)', rows, link: p.url_fiche ? { href: p.url_fiche, text: 'Fiche Géorisques' } : null };
  }
  return { title: LAYER_TITLES[layer] ?? layer, rows: Object.entries(p).map(([k, v]) => [k, String(v)]) };
}

// One popup's DOM: a title, a definition list, an optional link; text only (no HTML injection).
export function popupContent(layer, p) {
  const d = describe(layer, p);
  const root = document.createElement('div');
  root.className = `popup popup-${layer}`;
  const h = document.createElement('h3');
  h.textContent = d.title;
  root.append(h);
  const dl = document.createElement('dl');
  for (const [k, v] of d.rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    if (k === 'Disponibilité') dd.className = d.available === false ? 'bad' : d.available ? 'good' : '';
    dl.append(dt, dd);
  }
  root.append(dl);
  if (d.link && /^https?:\/\//.test(d.link.href)) {
    const a = document.createElement('a');
    a.href = d.link.href;
    a.textContent = d.link.text;
    a.target = '_blank';
    a.rel = 'noopener';
    root.append(a);
  }
  if (d.hint) {
    const hint = document.createElement('p');
    hint.className = 'hint';
    hint.textContent = d.hint;
    root.append(hint);
  }
  return root;
}
