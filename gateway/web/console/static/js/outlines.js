// Offline outlines of départements and communes, bundled with the gateway
// (static/geo/, built by scripts/build_outlines.py): integers, delta-encoded.

const loaded = new Map();

function fetchJson(url) {
  if (!loaded.has(url)) {
    loaded.set(
      url,
      fetch(url, { cache: "force-cache" }).then((r) => (r.ok ? r.json() : null)).catch(() => null),
    );
  }
  return loaded.get(url);
}

/** ``[x0, y0, dx1, dy1, …]`` at ``scale`` per degree → Leaflet ``[[lat, lon], …]``. */
export function decode(flat, scale) {
  const points = [];
  let x = 0;
  let y = 0;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    x += flat[i];
    y += flat[i + 1];
    points.push([y / scale, x / scale]);
  }
  return points;
}

/** The département of an INSEE commune code (97x overseas, 2A/2B Corsica). */
export function departementOf(insee) {
  if (!insee) return null;
  return insee.startsWith("97") ? insee.slice(0, 3) : insee.slice(0, 2);
}

export async function departements() {
  const body = await fetchJson("static/geo/departements.json");
  if (!body) return [];
  return body.departements.map((d) => ({
    code: d.code,
    name: d.name,
    lines: d.lines.map((line) => decode(line, body.scale)),
  }));
}

export async function communes(dep) {
  const body = await fetchJson(`static/geo/communes-${encodeURIComponent(dep)}.json`);
  if (!body) return [];
  return body.communes.map((c) => ({
    insee: c.insee,
    name: c.name,
    rings: c.rings.map((ring) => decode(ring, body.scale)),
  }));
}
