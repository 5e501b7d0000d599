// /console/links: the INT_L01 launch tester. Its own query string holds the launch
// parameters; pasting a SAS launch URL fills them. Diagnostics come from
// POST /v1/contextual-search/links (rendered generically: any status, any message), the
// preview from /v1/contextual-search/resolve and the first page of /v1/search.
import { api, clear, failureBanner, frenchDate, h, initKeyPanel } from "./common.js";
import { PreviewMap } from "./map.js";

const FIELDS = ["origin", "practitioner", "specialty", "streetnumber", "streetname", "city", "inseecode"];
const STATUS_LABELS = {
  ok: "OK",
  normalised: "Normalisé",
  ignored: "Ignoré",
  warning: "Avertissement",
  error: "Erreur",
};
const DOCTOR_LABELS = {
  found: "trouvé",
  sas_pf_001: "sas_pf_001 : médecin traitant non identifié",
  sas_pf_002: "sas_pf_002 : médecin traitant non renseigné",
};
const AVAILABILITY = {
  live: "agenda à jour",
  stale: "agenda en panne : créneaux possiblement périmés",
  unknown: "disponibilités inconnues (pas « aucun créneau »)",
  none: "agenda non relié",
};

const form = document.getElementById("params-form");
const launchUrl = document.getElementById("launch-url");
const extra = document.getElementById("p-extra");
const diagnostics = document.getElementById("diagnostics");
const resolveBox = document.getElementById("resolve");
const resultsBox = document.getElementById("results");
const mapBox = document.getElementById("map");
let previewMap = null;
let run = 0;

function field(name) {
  return document.getElementById(`p-${name}`);
}

/** The parameters, in the form's order, then the other lines, as [name, value] pairs. */
function collect() {
  const pairs = [];
  for (const name of FIELDS) {
    const value = field(name).value;
    if (value.trim() !== "") pairs.push([name, value]);
  }
  for (const line of extra.value.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    pairs.push(at < 0 ? [line.trim(), ""] : [line.slice(0, at).trim(), line.slice(at + 1)]);
  }
  return pairs;
}

function fill(params) {
  const others = [];
  for (const name of FIELDS) field(name).value = "";
  for (const [name, value] of params) {
    if (FIELDS.includes(name) && field(name).value === "") field(name).value = value;
    else others.push(`${name}=${value}`);
  }
  extra.value = others.join("\n");
}

/** A pasted launch URL (or a bare query string) → its parameters; null if none. */
function parametersOf(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  let query = trimmed;
  try {
    query = new URL(trimmed).search;
  } catch (error) {
    const at = trimmed.indexOf("?");
    if (at >= 0) query = trimmed.slice(at);
  }
  const params = [...new URLSearchParams(query)];
  return params.length ? params : null;
}

function keepInAddressBar(pairs) {
  const query = new URLSearchParams(pairs).toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function statusBadge(status, labels) {
  return h("span", { class: "badge", "data-status": status, text: labels[status] || status });
}

async function check() {
  const pairs = collect();
  keepInAddressBar(pairs);
  const mine = ++run;
  if (!pairs.length) {
    clear(diagnostics, h("p", { class: "hint", text: "Collez une URL ou saisissez des paramètres." }));
    clear(resolveBox);
    clear(resultsBox);
    return;
  }
  const parameters = {};
  for (const [name, value] of pairs) if (!(name in parameters)) parameters[name] = value;
  clear(diagnostics, h("p", { class: "hint", text: "Vérification…" }));
  const links = await api("/v1/contextual-search/links", { method: "POST", body: { parameters } });
  if (mine !== run) return;
  if (!links.ok) {
    clear(diagnostics, failureBanner(links, "Le diagnostic du lien a échoué"));
  } else {
    showDiagnostics(links.body);
  }
  const canonical = links.ok && links.body.parameters ? links.body.parameters : parameters;
  await preview(canonical, mine);
}

function showDiagnostics(body) {
  const rows = (body.diagnostics || []).map((d) =>
    h(
      "tr",
      { "data-parameter": d.parameter, "data-status": d.status },
      h("td", { "data-label": "Paramètre" }, h("code", { text: d.parameter })),
      h("td", { "data-label": "Statut" }, statusBadge(d.status, STATUS_LABELS)),
      h("td", { "data-label": "Message", text: d.message || "" }),
    ),
  );
  const copyStatus = h("span", { class: "hint", role: "status", id: "copy-status" });
  const urlInput = h("input", {
    id: "canonical-url", type: "text", readonly: true, value: body.url || "", "aria-label": "URL de lancement canonique",
  });
  const copy = h("button", {
    type: "button", id: "copy-url", text: "Copier",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(urlInput.value);
        copyStatus.textContent = "URL copiée.";
      } catch (error) {
        urlInput.select();
        copyStatus.textContent = "Copie impossible ici : l'URL est sélectionnée, copiez-la (Ctrl+C).";
      }
    },
  });
  clear(
    diagnostics,
    h(
      "div",
      { class: `banner ${body.valid ? "ok" : "error"}`, id: "link-validity", "data-valid": String(Boolean(body.valid)) },
      h("strong", { text: body.valid ? "Lien valide" : "Lien invalide : le SAS refusera ou ignorera une partie du lancement" }),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table-stack", id: "diagnostics-table" },
        h("caption", { class: "visually-hidden", text: "Diagnostic de chaque paramètre" }),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Paramètre" }), h("th", { scope: "col", text: "Statut" }), h("th", { scope: "col", text: "Message" }))),
        h("tbody", {}, rows),
      ),
    ),
    h("h3", { text: "URL de lancement canonique" }),
    h("div", { class: "copy-row" }, urlInput, copy),
    copyStatus,
  );
}

function summaryRow(term, ...description) {
  return [h("dt", { text: term }), h("dd", {}, ...description)];
}

async function preview(parameters, mine) {
  clear(resolveBox, h("p", { class: "hint", text: "Résolution du lancement…" }));
  clear(resultsBox);
  const resolved = await api(`/v1/contextual-search/resolve?${new URLSearchParams(parameters)}`);
  if (mine !== run) return;
  if (!resolved.ok) {
    clear(resolveBox, failureBanner(resolved, "La résolution du lancement a échoué"));
    return;
  }
  const r = resolved.body;
  if (!r.origin || !r.origin.valid) {
    clear(
      resolveBox,
      h(
        "div",
        { class: "banner error", id: "origin-refused", role: "alert" },
        h("strong", { text: "Flux refusé : origine inconnue ou inactive" }),
        h("p", { text: `origin = ${r.origin && r.origin.code ? r.origin.code : "(absent)"} ; le SAS n'ouvre pas la recherche.` }),
      ),
      errorList(r.errors),
    );
    clear(resultsBox, h("p", { class: "hint", text: "Aucune recherche : le flux est refusé." }));
    await drawMap(null, 0, [], new Set(), null);
    return;
  }
  const doctor = r.preferred_doctor || {};
  const card = doctor.card;
  const location = r.location;
  const specialty = r.specialty || {};
  clear(
    resolveBox,
    h(
      "dl",
      { class: "summary", id: "resolve-summary" },
      summaryRow("Origine", `${r.origin.code} — ${r.origin.label || ""}`, r.origin.test ? h("span", { class: "badge warn", text: " autorité de test" }) : null),
      summaryRow(
        "Spécialité",
        specialty.coding ? `${specialty.coding.display} (${specialty.coding.code})` : specialty.label || "(aucune)",
        specialty.searchable === false ? h("span", { class: "badge warn", text: "non recherchable" }) : null,
      ),
      summaryRow(
        "Médecin traitant",
        h("span", { id: "doctor-status" }, statusBadge(doctor.status || "?", DOCTOR_LABELS)),
        card ? ` Dr ${card.given || ""} ${card.family || ""} (${card.idnps}), ${card.locations.length} lieu(x) d'exercice` : "",
        doctor.message ? h("div", { class: "hint", text: doctor.message }) : null,
      ),
      summaryRow(
        "Localisation",
        location
          ? `${location.city || ""} (${location.insee || "?"}), département ${location.departement || "?"} ; niveau ${location.type} ; rayon par défaut ${location.default_radius_km} km (+${location.enlargement_km} km)`
          : "aucune : pas de recherche géographique",
      ),
      summaryRow("CPTS", r.cpts && r.cpts.length ? r.cpts.map((c) => `${c.name} (${c.finess || "sans FINESS"})`).join(" ; ") : "aucune pour cette commune"),
    ),
    errorList(r.errors),
  );
  if (!location) {
    clear(resultsBox, h("p", { class: "hint", text: "Sans localisation, la recherche ne peut pas être lancée." }));
    await drawMap(null, 0, [], new Set(), null);
    return;
  }
  const query = new URLSearchParams({
    lat: location.lat,
    lon: location.lon,
    location_type: ["address", "city", "county", "postcode"].includes(location.search_type) ? location.search_type : "city",
    page_size: "20",
    seed: "console",
  });
  if (location.insee) query.set("insee", location.insee);
  if (specialty.coding) query.set("specialty", `${specialty.coding.system}|${specialty.coding.code}`);
  if (card && card.idnps) query.set("preferred_doctor", card.idnps);
  clear(resultsBox, h("p", { class: "hint", text: "Recherche…" }));
  const search = await api(`/v1/search?${query}`);
  if (mine !== run) return;
  if (!search.ok) {
    clear(resultsBox, failureBanner(search, "La recherche a échoué"));
    await drawMap(location, location.default_radius_km, [], await zoneOf(r.cpts), location.insee);
    return;
  }
  const cards = showResults(search.body);
  const finesses = [...(r.cpts || [])];
  for (const c of search.body.results) if (c.kind === "cpts" && c.cpts) finesses.push(c.cpts);
  await drawMap(location, search.body.radius_km, cards, await zoneOf(finesses), location.insee);
}

async function zoneOf(cptsList) {
  const zone = new Set();
  const seen = new Set();
  for (const c of cptsList || []) {
    if (!c.finess || seen.has(c.finess)) continue;
    seen.add(c.finess);
    const found = await api(`/v1/cpts/${encodeURIComponent(c.finess)}/zone`);
    if (found.ok) for (const code of found.body.communes) zone.add(code);
  }
  return zone;
}

function errorList(errors) {
  if (!errors || !errors.length) return null;
  return h(
    "ul",
    { class: "problems", id: "resolve-errors", "aria-label": "Erreurs du lancement" },
    errors.map((e) => h("li", { "data-code": e.code }, h("code", { text: e.code }), ` ${e.parameter ? `(${e.parameter}) ` : ""}${e.message || ""}`)),
  );
}

function cardLabel(c) {
  if (c.kind === "cpts") return c.cpts ? c.cpts.name : c.id;
  return `Dr ${c.given || ""} ${c.family || ""}`.replace(/\s+/g, " ").trim();
}

function showResults(body) {
  const cards = body.results.map((c, index) => ({
    rank: index + 1, lat: c.lat, lon: c.lon, kind: c.kind, preferred: c.preferred_doctor, label: cardLabel(c), insee: c.insee,
  }));
  const items = body.results.map((c, index) => {
    const tags = [];
    if (c.preferred_doctor) tags.push(h("span", { class: "badge", "data-status": "found", text: "Médecin traitant" }));
    if (c.kind === "cpts") tags.push(h("span", { class: "badge info", text: "CPTS" }));
    if (c.sas_participant) tags.push(h("span", { class: "badge info", text: "Participant SAS" }));
    tags.push(h("span", { class: "badge", "data-status": c.availability, text: AVAILABILITY[c.availability] || c.availability }));
    const details = [];
    if (c.kind === "cpts" && c.cpts) {
      details.push(`${c.cpts.members_in_radius} membre(s) dans le cercle`);
      if (c.cpts.phone) details.push(`tél. ${c.cpts.phone}`);
    } else {
      if (c.specialty) details.push(c.specialty.display || c.specialty.code);
      else if (c.profession) details.push(c.profession.display || c.profession.code);
    }
    details.push(c.distance_km === null ? "hors cercle" : `${c.distance_km.toLocaleString("fr-FR")} km`);
    if (c.insee) details.push(`INSEE ${c.insee}`);
    const slots = (c.slots || []).map((s) =>
      h("li", {}, `${frenchDate(s.start)} · ${(s.types || []).join(", ")} · ${(s.modes || []).join(", ")}${s.walk_in ? " · sans rendez-vous" : ""}`),
    );
    return h(
      "li",
      { class: "result-card", "data-kind": c.kind, "data-preferred": String(c.preferred_doctor), "data-rank": index + 1 },
      h("span", { class: "num", "aria-hidden": "true", text: String(index + 1) }),
      h("div", { class: "name" }, h("span", { class: "visually-hidden", text: `Rang ${index + 1} : ` }), cardLabel(c)),
      h("div", { class: "tags" }, tags),
      h("div", { class: "meta", text: details.join(" · ") }),
      slots.length ? h("ul", { class: "slots", "aria-label": "Prochains créneaux" }, slots) : null,
    );
  });
  clear(
    resultsBox,
    h(
      "p",
      { class: "hint", id: "results-summary" },
      `${body.total} résultat(s) dans un rayon de ${body.radius_km} km${body.enlarged ? " (rayon élargi)" : ""}`,
      body.specialty_known === false ? " ; spécialité inconnue : seul le médecin traitant est proposé" : "",
      `, ${body.results.length} sur cette page.`,
    ),
    items.length ? h("ol", { class: "results", id: "result-list" }, items) : h("p", { text: "Aucun résultat." }),
  );
  return cards;
}

async function drawMap(center, radiusKm, cards, zone, insee) {
  if (!previewMap) return;
  await previewMap.show({ center, radiusKm, cards, zone, insee });
}

async function main() {
  const config = await initKeyPanel(() => check());
  try {
    previewMap = new PreviewMap(mapBox, config);
  } catch (error) {
    clear(mapBox, h("p", { class: "hint", text: `Carte indisponible : ${error}` }));
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  document.getElementById("params-clear").addEventListener("click", () => {
    fill([]);
    launchUrl.value = "";
    check();
  });
  launchUrl.addEventListener("input", () => {
    const params = parametersOf(launchUrl.value);
    if (params) {
      fill(params);
      check();
    }
  });
  const initial = [...new URLSearchParams(location.search)];
  if (initial.length) {
    fill(initial);
    await check();
  }
  document.body.dataset.ready = "true";
}

main();
