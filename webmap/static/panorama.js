/* Street view: Photo Sphere Viewer with tiled panoramas (/panoramas/{id}/tiles), arrows to the
   neighbouring panoramas (/panoramas/{id}/neighbours) and the capture date. Loaded on first use
   through the page's import map (three and Photo Sphere Viewer are served by Amanat itself). */
import { Viewer } from "@photo-sphere-viewer/core";
import { EquirectangularTilesAdapter } from "@photo-sphere-viewer/equirectangular-tiles-adapter";
import { MarkersPlugin } from "@photo-sphere-viewer/markers-plugin";

const SECTORS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
const LOOK_DOWN = -0.35;   // where the arrows sit, below the horizon (radians)
const RADIANS = Math.PI / 180;
// Photo Sphere Viewer's own texts (button titles, hints): the page's labels "psv_<snake_name>".
const VIEWER_TEXTS = ["zoom", "zoomOut", "zoomIn", "moveUp", "moveDown", "moveLeft", "moveRight",
  "description", "download", "fullscreen", "loading", "menu", "close", "twoFingers", "ctrlZoom",
  "loadError", "webglError"];

function panoramaOf(description) {
  return {
    baseUrl: description.baseUrl,
    levels: description.levels.map((l) => ({ width: l.width, cols: l.cols, rows: l.rows })),
    tileUrl: (col, row, level) => description.tileUrl.replace("{level}", level)
      .replace("{col}", col).replace("{row}", row),
  };
}

export class PanoramaViewer {
  /** A viewer in `holder`; `options.A` is window.Amanat (text, fetch, DOM helpers). */
  constructor(holder, options) {
    this.A = options.A;
    this.onMove = options.onMove || (() => {});
    const el = this.A.el;
    this.caption = el("p.sv-caption", { "aria-live": "polite" });
    this.stage = el("div.sv-stage", { role: "img", "aria-label": this.A.t("sv_title") });
    this.nav = el("nav.sv-nav", { "aria-label": this.A.t("sv_nearby") });
    holder.append(this.stage, this.caption, this.nav);
    this.holder = holder;
    this.viewer = null;
    this.current = null;
    this.latest = 0;
  }

  /** Show a panorama with its capture date and the arrows to its neighbours. The newest call
      wins: an answer that arrives after a later click is dropped. */
  async show(id) {
    const A = this.A, mine = ++this.latest;
    const [pano, description, neighbours] = await Promise.all([
      A.fetchJSON(`panoramas/${id}`), A.fetchJSON(`panoramas/${id}/tiles`),
      A.fetchJSON(`panoramas/${id}/neighbours`),
    ]);
    if (mine !== this.latest) { return; }
    if (!this.viewer) {
      await this.open(description);
    } else {
      await this.viewer.setPanorama(panoramaOf(description), {
        showLoader: true, transition: false, position: this.current ? this.facing(pano) : undefined });
    }
    if (mine !== this.latest) { return; }
    this.current = pano;
    this.holder.setAttribute("data-panorama", String(pano.id));
    this.describe(pano);
    this.arrows(pano, neighbours);
    this.onMove(pano);
  }

  /** Make the viewer and wait until it is ready (markers set before are dropped by it). */
  open(description) {
    const A = this.A, lang = {};
    VIEWER_TEXTS.forEach((name) => {
      lang[name] = A.t(`psv_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`);
    });
    this.viewer = new Viewer({
      container: this.stage, adapter: EquirectangularTilesAdapter,
      panorama: panoramaOf(description), plugins: [MarkersPlugin],
      navbar: ["zoom", "move", "caption", "fullscreen"], defaultZoomLvl: 0,
      mousewheelCtrlKey: true, lang,
    });
    this.markers = this.viewer.getPlugin(MarkersPlugin);
    this.markers.addEventListener("select-marker", ({ marker }) => this.go(marker.data.id));
    return new Promise((resolve) => this.viewer.addEventListener("ready", resolve, { once: true }));
  }

  /** Move to a neighbour; a failure is told under the view instead of thrown. */
  go(id) {
    this.show(id).catch((error) => { this.caption.textContent = error.message || this.A.t("error"); });
  }

  /** The view of the next panorama that looks the same compass direction as now. */
  facing(next) {
    const now = this.viewer.getPosition();
    const compass = now.yaw + this.current.heading_deg * RADIANS;
    return { yaw: compass - next.heading_deg * RADIANS, pitch: now.pitch };
  }

  describe(pano) {
    const A = this.A;
    const text = `${A.t("sv_captured")}: ${A.date(pano.captured_at)}`;
    this.caption.textContent = text;
    this.viewer.setOption("caption", text);
  }

  /** Neighbours as arrows in the scene and as buttons under it (for the keyboard). */
  arrows(pano, neighbours) {
    const A = this.A, el = A.el, items = [];
    const add = (target, key, label) => {
      if (!target || items.some((i) => i.target.id === target.id)) { return; }
      items.push({ target, key, label });
    };
    add(neighbours.next, "next", A.t("sv_next"));
    add(neighbours.previous, "previous", A.t("sv_previous"));
    SECTORS.forEach((s) => {
      const n = neighbours.sectors && neighbours.sectors[s];
      if (n) { add(n, s, A.t("sv_go", { dir: A.t(`dir_${s}`), d: A.number(n.distance_m, 0) })); }
    });
    this.markers.setMarkers(items.map((item) => ({
      id: `to-${item.target.id}`, data: { id: item.target.id },
      position: { yaw: this.yaw(pano, item.target), pitch: LOOK_DOWN },
      html: "<span class=\"sv-arrow\" aria-hidden=\"true\">▲</span>", size: { width: 44, height: 44 },
      anchor: "center center", tooltip: { content: item.label, position: "top center" },
      style: { cursor: "pointer" },
    })));
    this.nav.textContent = "";
    this.nav.append(el("ul", {}, items.map((item) => el("li", {}, el("button.action.sv-go", {
      type: "button", "data-target": item.target.id, text: item.label,
      on: { click: () => this.go(item.target.id) },
    })))));
  }

  /** Where a neighbour appears: its bearing from here, relative to the camera's heading. */
  yaw(pano, target) {
    const dLon = (target.lon - pano.lon) * Math.cos((pano.lat * Math.PI) / 180);
    const bearing = target.bearing_deg !== undefined ? target.bearing_deg
      : (Math.atan2(dLon, target.lat - pano.lat) * 180) / Math.PI;
    return (((bearing - pano.heading_deg) % 360 + 360) % 360) * (Math.PI / 180);
  }

  destroy() {
    if (this.viewer) { this.viewer.destroy(); this.viewer = null; }
  }
}
