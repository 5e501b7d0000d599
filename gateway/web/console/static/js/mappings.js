// /console/mappings: the stewards' view. GET /admin/mappings (tables in force against the
// files on disk: rows, problems with file:line, warnings, diff) and
// POST /admin/mappings/reload (200 with the new version, or 422 with every problem).
import { api, clear, failureBanner, h, initKeyPanel } from "./common.js";

const stateBox = document.getElementById("state");
const diffBox = document.getElementById("diff");
const reloadBox = document.getElementById("reload-result");
const reloadButton = document.getElementById("reload");

/** "path:line: message" → [where, message], where being path:line (or path). */
function splitProblem(text) {
  const match = /^(.*?:\d+): (.*)$/s.exec(text) || /^(.*?): (.*)$/s.exec(text);
  return match ? [match[1], match[2]] : ["", text];
}

function problemList(problems, id) {
  return h(
    "ul",
    { class: "problems", id },
    problems.map((p) => {
      const [where, message] = splitProblem(p);
      return h("li", {}, where ? h("code", { class: "where", text: where }) : null, where ? " " : "", message);
    }),
  );
}

function count(value) {
  return value === null || value === undefined ? "illisible" : String(value);
}

async function refresh() {
  const result = await api("/admin/mappings");
  if (!result.ok) {
    clear(stateBox, failureBanner(result, "L'état des tables n'a pas pu être lu"));
    clear(diffBox);
    return;
  }
  const s = result.body;
  const same = s.disk_version === s.version;
  const rows = s.tables.map((t) => {
    const d = t.diff;
    const changes = d ? d.added.length + d.removed.length + d.changed.length : null;
    return h(
      "tr",
      { "data-file": t.file, "data-problems": t.problems.length },
      h("th", { scope: "row", "data-label": "Table" }, h("code", { text: t.file })),
      h("td", { "data-label": "Lignes en service", text: count(t.rows_running) }),
      h("td", { "data-label": "Lignes sur disque", text: count(t.rows_disk) }),
      h(
        "td",
        { "data-label": "Problèmes" },
        t.problems.length
          ? [h("span", { class: "badge error", text: `${t.problems.length} problème(s)` }), problemList(t.problems, `problems-${t.file}`)]
          : h("span", { class: "badge ok", text: "aucun" }),
        t.warnings.length
          ? [h("span", { class: "badge warn", text: `${t.warnings.length} avertissement(s)` }), problemList(t.warnings, `warnings-${t.file}`)]
          : null,
      ),
      h("td", { "data-label": "Modifications", text: changes === null ? "non comparable" : changes ? `${changes} ligne(s)` : "aucune" }),
    );
  });
  clear(
    stateBox,
    h(
      "dl",
      { class: "summary" },
      h("dt", { text: "Version en service" }),
      h("dd", {}, h("code", { id: "running-version", text: s.version })),
      h("dt", { text: "Version sur disque" }),
      h("dd", {}, h("code", { id: "disk-version", text: s.disk_version || "illisible" }), same ? " (identique)" : " (différente : un rechargement la mettrait en service)"),
      h("dt", { text: "Répertoire" }),
      h("dd", {}, h("code", { text: s.directory })),
    ),
    h(
      "div",
      { class: `banner ${s.disk_valid ? "ok" : "error"}`, id: "disk-state", "data-valid": String(s.disk_valid) },
      h("strong", {
        text: s.disk_valid
          ? "Les fichiers sur disque sont valides : un rechargement serait accepté."
          : "Les fichiers sur disque ont des problèmes : un rechargement serait refusé (la version en service resterait active).",
      }),
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table-stack", id: "tables" },
        h("caption", { class: "visually-hidden", text: "Tables de correspondance" }),
        h("thead", {}, h("tr", {}, ["Table", "Lignes en service", "Lignes sur disque", "Problèmes", "Modifications"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    ),
    s.other_problems.length ? problemList(s.other_problems, "problems-other") : null,
  );
  const diffs = s.tables.filter((t) => t.diff && (t.diff.added.length || t.diff.removed.length || t.diff.changed.length));
  clear(
    diffBox,
    diffs.length
      ? diffs.map((t) => [
          h("h3", {}, h("code", { text: t.file })),
          h(
            "ul",
            { class: "diff-list", "data-file": t.file },
            t.diff.added.map((r) => h("li", { class: "added" }, h("span", { class: "visually-hidden", text: "ajoutée : " }), r)),
            t.diff.removed.map((r) => h("li", { class: "removed" }, h("span", { class: "visually-hidden", text: "supprimée : " }), r)),
            t.diff.changed.map((r) => h("li", { class: "changed" }, h("span", { class: "visually-hidden", text: "modifiée : " }), r)),
          ),
        ])
      : h("p", { class: "hint", id: "no-diff", text: "Aucune différence : les fichiers sur disque sont les tables en service." }),
  );
}

async function reload() {
  reloadButton.disabled = true;
  clear(reloadBox, h("p", { class: "hint", text: "Rechargement…" }));
  const result = await api("/admin/mappings/reload", { method: "POST" });
  reloadButton.disabled = false;
  if (result.ok) {
    const b = result.body;
    clear(
      reloadBox,
      h(
        "div",
        { class: "banner ok", role: "status", id: "reload-outcome", "data-http-status": result.status },
        h("strong", { text: `${result.status} : tables rechargées, version ${b.version}` }),
        h("p", { text: b.changed ? `Nouvelle version (précédente : ${b.previous_version}).` : "Rien n'a changé : même version qu'avant." }),
        b.warnings && b.warnings.length ? problemList(b.warnings, "reload-warnings") : null,
      ),
    );
  } else if (result.status === 422) {
    const details = (result.body && result.body.error && result.body.error.details) || {};
    clear(
      reloadBox,
      h(
        "div",
        { class: "banner error", role: "alert", id: "reload-outcome", "data-http-status": result.status },
        h("strong", { text: `${result.status} : rechargement refusé` }),
        h("p", { text: (result.body && result.body.error && result.body.error.message) || "" }),
        problemList(details.problems || [], "reload-problems"),
      ),
    );
  } else {
    clear(reloadBox, failureBanner(result, "Le rechargement a échoué"));
    reloadBox.firstChild.id = "reload-outcome";
  }
  await refresh();
}

async function main() {
  await initKeyPanel(() => refresh());
  document.getElementById("refresh").addEventListener("click", () => refresh());
  reloadButton.addEventListener("click", () => reload());
  await refresh();
  document.body.dataset.ready = "true";
}

main();
