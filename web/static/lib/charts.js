// Charts for the pages, drawn by Chart.js 4 (web/static/vendor/chartjs: MIT, shipped in
// the binary, see its SOURCE). The library loads on first use; when it cannot load,
// chartLib() yields null and a page shows its tables alone.
import { el } from "./api.js";

export const colors = { blue: "#2456d6", green: "#2e9d5b", orange: "#e07b24", purple: "#7a4fd6", grid: "#e9edf5", text: "#3e4a66" };

let loading;
// chartLib resolves to the Chart class, or null when the library failed to load.
export function chartLib() {
  loading ??= import("../vendor/chartjs/chart.umd.min.js").then(() => {
    const Chart = globalThis.Chart;
    if (typeof Chart !== "function") return null;
    const d = Chart.defaults;
    d.font.family = getComputedStyle(document.body).fontFamily; // the page's, with its CJK fonts
    d.font.size = 11;
    d.color = colors.text;
    d.borderColor = colors.grid;
    d.animation = false; // drawn at once: no half-drawn bars on a refresh or a screenshot
    d.maintainAspectRatio = false; // the height is the box's (see chart)
    d.plugins.legend.position = "bottom";
    d.plugins.legend.labels.boxWidth = 12;
    if (d.datasets.bar) d.datasets.bar.maxBarThickness = 36; // a day or two of data: bars, not slabs
    return Chart;
  }).catch((x) => {
    console.warn("charts unavailable, showing tables only:", x);
    return null;
  });
  return loading;
}

// charts keeps a page's live charts so that a redraw can destroy the previous ones.
export function charts(Chart) {
  const live = [], pending = [];
  return {
    // figure returns <figure data-testid=testid> with its caption and a canvas height
    // pixels tall for config; draw() draws it once the figure is in the page. With no
    // data it says `empty` instead.
    figure(testid, caption, height, config, empty) {
      if (empty) return el("figure", { class: "chart", "data-testid": testid }, el("figcaption", {}, caption), el("p", { class: "muted" }, empty));
      const canvas = el("canvas", { role: "img", "aria-label": caption });
      pending.push([canvas, config]);
      return el("figure", { class: "chart", "data-testid": testid }, el("figcaption", {}, caption),
        el("div", { class: "plot", style: "height:" + height + "px" }, canvas));
    },
    // draw draws the figures made since the last draw, after destroying the charts before them.
    draw() {
      for (const c of live.splice(0)) c.destroy();
      for (const [canvas, config] of pending.splice(0)) {
        if (!canvas.isConnected) continue; // its render failed before it reached the page
        try { live.push(new Chart(canvas, config)); } catch (x) {
          console.warn("chart not drawn:", x);
          canvas.parentNode.replaceChildren(el("p", { class: "muted" }, "—"));
        }
      }
    },
  };
}

// timeUnit picks the unit a duration axis reads best in, for values up to max seconds.
export function timeUnit(max) {
  if (max >= 2 * 3600) return { per: 3600, key: "hour" };
  if (max >= 120) return { per: 60, key: "min" };
  return { per: 1, key: "sec" };
}
