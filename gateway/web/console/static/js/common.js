// Shared by the console pages: the API key (kept for this tab only), calls to the
// gateway's own API, error wording, and a tiny DOM builder (text only, never innerHTML).

const KEY = "sasgw.console.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** GET or POST on the gateway: {status, ok, body} (status 0: the gateway did not answer). */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    return { status: 0, ok: false, body: null };
  }
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (error) {
    /* not JSON: keep the text */
  }
  return { status: response.status, ok: response.ok, body: data };
}

function messageOf(body) {
  if (body && typeof body === "object") {
    if (body.error && body.error.message) return body.error.message;
    if (Array.isArray(body.issue) && body.issue[0]) return body.issue[0].diagnostics || "";
  }
  return typeof body === "string" ? body.slice(0, 300) : "";
}

/** A failed call in words, 401 and 403 named as such. */
export function describeFailure(result) {
  const detail = messageOf(result.body);
  switch (result.status) {
    case 0:
      return "La passerelle ne répond pas.";
    case 401:
      return `401 Non authentifié : clé d'API absente ou inconnue. Saisissez une clé valide en haut de la page.${detail ? ` (${detail})` : ""}`;
    case 403:
      return `403 Accès refusé : le rôle de cette clé ne permet pas cette opération.${detail ? ` (${detail})` : ""}`;
    case 429:
      return `429 Trop de requêtes pour cette clé : réessayez dans un instant.`;
    default:
      return `${result.status} : ${detail || "erreur"}`;
  }
}

export function failureBanner(result, what) {
  return h(
    "div",
    { class: "banner error", role: "alert", "data-http-status": result.status },
    h("strong", { text: what }),
    h("p", { text: describeFailure(result) }),
  );
}

let configPromise = null;
export function consoleConfig() {
  if (!configPromise) {
    configPromise = api("config.json").then((r) =>
      r.ok ? r.body : { tiles_url: "", tiles_attribution: "", keys_required: true },
    );
  }
  return configPromise;
}

/** The key form at the top of every page; ``onChange`` runs after the key changes. */
export async function initKeyPanel(onChange) {
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  const forget = document.getElementById("key-forget");
  const status = document.getElementById("key-status");
  const config = await consoleConfig();
  const show = () => {
    const key = apiKey();
    if (!config.keys_required) {
      status.textContent = key
        ? "Clé gardée pour cet onglet (le service est ouvert : aucune clé n'est exigée)."
        : "Service ouvert (pas de fichier de clés) : aucune clé n'est nécessaire.";
    } else {
      status.textContent = key
        ? "Clé gardée pour cet onglet seulement (effacée à sa fermeture)."
        : "Ce service exige une clé d'API : saisissez-la une fois, elle reste dans cet onglet.";
    }
    input.value = "";
    input.placeholder = key ? "•••••••• (clé enregistrée)" : "sasgw_…";
    forget.disabled = !key;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) sessionStorage.setItem(KEY, value);
    show();
    onChange();
  });
  forget.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    show();
    onChange();
  });
  show();
  return config;
}

const DATE = new Intl.DateTimeFormat("fr-FR", {
  weekday: "short",
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "Europe/Paris",
});

export function frenchDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : DATE.format(date);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
