// /console/terminology: search NOS labels (accent-insensitive) and open a code: its
// display, status, version, OID and the value sets containing it. Its own query string
// keeps the search (?q=…&valueset=…) and the open code (?code=system|code).
import { api, clear, debounce, failureBanner, h, initKeyPanel } from "./common.js";

const q = document.getElementById("q");
const valueset = document.getElementById("valueset");
const inactive = document.getElementById("inactive");
const coding = document.getElementById("coding");
const matchesBox = document.getElementById("matches");
const codeBox = document.getElementById("code");
let searchRun = 0;
let codeRun = 0;

function remember() {
  const params = new URLSearchParams();
  if (q.value.trim()) params.set("q", q.value.trim());
  if (valueset.value.trim()) params.set("valueset", valueset.value.trim());
  if (inactive.checked) params.set("include_inactive", "true");
  if (coding.value.trim()) params.set("code", coding.value.trim());
  const text = params.toString();
  history.replaceState(null, "", text ? `?${text}` : location.pathname);
}

function nosOf(system) {
  const match = /\/NOS\/([^/]+)\//.exec(system) || /CodeSystem\/([^/|]+)/.exec(system);
  return match ? match[1] : system;
}

async function search() {
  remember();
  const mine = ++searchRun;
  const text = q.value.trim();
  if (!text) {
    clear(matchesBox);
    return;
  }
  const params = new URLSearchParams({ q: text, limit: "25" });
  if (valueset.value.trim()) params.set("valueset", valueset.value.trim());
  if (inactive.checked) params.set("include_inactive", "true");
  const result = await api(`/v1/terminology/search?${params}`);
  if (mine !== searchRun) return;
  if (!result.ok) {
    clear(matchesBox, failureBanner(result, "La recherche a échoué"));
    return;
  }
  const matches = result.body.matches;
  if (!matches.length) {
    clear(matchesBox, h("p", { id: "no-match", text: "Aucun libellé ne correspond." }));
    return;
  }
  clear(
    matchesBox,
    h("p", { class: "hint", text: `${matches.length} résultat(s)` }),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table-stack", id: "match-table" },
        h("thead", {}, h("tr", {}, ["Code", "Libellé", "Nomenclature", "Score"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          matches.map((m) =>
            h(
              "tr",
              { "data-code": m.code },
              h(
                "td",
                { "data-label": "Code" },
                h("button", {
                  type: "button", class: "linklike open-code", text: m.code,
                  "aria-label": `Ouvrir le code ${m.code} : ${m.display}`,
                  onclick: () => {
                    coding.value = `${m.system}|${m.code}`;
                    openCode();
                  },
                }),
              ),
              h("td", { "data-label": "Libellé", text: m.display }),
              h("td", { "data-label": "Nomenclature", text: nosOf(m.system) }),
              h("td", { "data-label": "Score", text: Math.round(m.score) }),
            ),
          ),
        ),
      ),
    ),
  );
}

async function openCode() {
  remember();
  const mine = ++codeRun;
  const text = coding.value.trim();
  if (!text) return;
  clear(codeBox, h("p", { class: "hint", text: "Chargement…" }));
  const params = new URLSearchParams({ coding: text });
  const [resolved, sets] = await Promise.all([
    api(`/v1/terminology/resolve?${params}`),
    api(`/v1/terminology/valuesets?${params}`),
  ]);
  if (mine !== codeRun) return;
  if (!resolved.ok) {
    clear(codeBox, failureBanner(resolved, resolved.status === 404 ? "Code inconnu" : "Le code n'a pas pu être lu"));
    return;
  }
  const c = resolved.body;
  const row = (term, value) => [h("dt", { text: term }), h("dd", {}, value)];
  clear(
    codeBox,
    h("h3", { id: "code-display", text: `${c.code} : ${c.display}` }),
    h(
      "dl",
      { class: "summary", id: "code-details" },
      row("Libellé", c.display),
      row("Statut", h("span", { class: `badge ${c.inactive ? "warn" : "ok"}`, "data-status": c.status, text: c.inactive ? `${c.status} (inactif)` : c.status })),
      row("Nomenclature", c.nos || "(inconnue)"),
      row("Version", c.version || "(non précisée)"),
      row("OID", c.oid ? h("code", { text: `urn:oid:${c.oid}` }) : "(aucun)"),
      row("Système", h("code", { text: c.system })),
    ),
    h("h3", { text: "Jeux de valeurs contenant ce code" }),
    !sets.ok
      ? failureBanner(sets, "Les jeux de valeurs n'ont pas pu être lus")
      : sets.body.valuesets.length
        ? h(
            "ul",
            { id: "valuesets" },
            sets.body.valuesets.map((v) =>
              h("li", {}, h("strong", { text: v.nos || v.name || v.url }), v.title ? ` : ${v.title}` : "", v.version ? ` (version ${v.version})` : ""),
            ),
          )
        : h("p", { id: "valuesets", text: "Aucun des jeux de valeurs chargés ne le contient." }),
  );
}

async function main() {
  await initKeyPanel(() => {
    search();
    openCode();
  });
  const initial = new URLSearchParams(location.search);
  q.value = initial.get("q") || "";
  valueset.value = initial.get("valueset") || "";
  inactive.checked = initial.get("include_inactive") === "true";
  coding.value = initial.get("code") || "";
  const live = debounce(search, 250);
  q.addEventListener("input", live);
  valueset.addEventListener("change", search);
  inactive.addEventListener("change", search);
  document.getElementById("term-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  document.getElementById("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openCode();
  });
  await Promise.all([search(), openCode()]);
  document.body.dataset.ready = "true";
}

main();
