// Sales by hour as an inline SVG bar chart (no chart library), with its own text alternative.
import { svg } from "./dom.js";

const W = 960;
const H = 280;
const PAD = { top: 16, right: 12, bottom: 36, left: 84 };

/** A "nice" round top for the axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceTop(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * power).find((v) => v >= max);
}

/** hours: [{hour, sales_minor}] (24 of them); format: minor -> text. */
export function hourChart(hours, format, id) {
  const top = niceTop(Math.max(...hours.map((h) => h.sales_minor)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / hours.length;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const busiest = hours.reduce((a, b) => (b.sales_minor > a.sales_minor ? b : a), hours[0]);
  const total = hours.reduce((sum, h) => sum + h.sales_minor, 0);
  const summary = total
    ? `Busiest hour ${String(busiest.hour).padStart(2, "0")}:00 with ${format(busiest.sales_minor)}; `
      + `${hours.filter((h) => h.sales_minor).length} hours with sales. The table below has every hour.`
    : "No sales on this day.";

  return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", "aria-labelledby": `${id}-title ${id}-desc`,
    preserveAspectRatio: "xMidYMid meet" },
  svg("title", { id: `${id}-title`, text: "Sales by hour" }),
  svg("desc", { id: `${id}-desc`, text: summary }),
  [0, 0.5, 1].map((f) => svg("g", { class: "grid" },
    svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(top * f), y2: y(top * f) }),
    svg("text", { x: PAD.left - 8, y: y(top * f) + 5, "text-anchor": "end", text: format(Math.round(top * f)) }))),
  hours.map((h) => svg("g", { class: "bar" },
    svg("rect", { x: PAD.left + h.hour * slot + slot * 0.15, width: slot * 0.7, y: y(h.sales_minor),
      height: Math.max(0, PAD.top + plotH - y(h.sales_minor)), "data-hour": h.hour },
    svg("title", { text: `${String(h.hour).padStart(2, "0")}:00 ${format(h.sales_minor)}` })),
    h.hour % 2 === 0 ? svg("text", { x: PAD.left + (h.hour + 0.5) * slot, y: H - PAD.bottom + 22, "text-anchor": "middle",
      text: String(h.hour).padStart(2, "0") }) : null)),
  svg("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: PAD.top + plotH, y2: PAD.top + plotH }));
}
