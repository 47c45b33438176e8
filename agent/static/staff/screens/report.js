// The day report (managers): orders, sales, sales by hour (an SVG chart with a table for screen
// readers), top items, payments by method, platform fees, tips; and a CSV export.
import { hourChart } from "./chart.js";
import { el, errorText, heading, messageBox, say } from "./dom.js";
import { money } from "./money.js";

const METHOD = { cash: "Cash", terminal: "Card terminal", card: "Card (diner's phone)" };

const table = (caption, heads, rows) => el("table", { class: "figures" },
  el("caption", { text: caption }),
  el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))),
  el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c, i) => (i === 0
    ? el("th", { scope: "row", text: c }) : el("td", { class: "num", text: c })))))));

export function mount(section, ctx) {
  const errors = messageBox("alert");
  // empty at first: the agent picks its own "today" (the restaurant's day, in the agent box's zone)
  const date = el("input", { type: "date", id: "report-date" });
  const csv = el("a", { class: "button", id: "report-csv", text: "Export CSV", download: "",
    href: "/api/v1/staff/report?format=csv" });
  const show = el("button", { type: "submit", class: "primary", text: "Show" });
  const form = el("form", { class: "report-form" },
    el("label", { for: date.id, text: "Day" }), date, show, csv);
  const out = el("div", { class: "report", "aria-live": "polite" });
  heading(section, "Day report");
  section.append(form, errors, out);

  function render(r) {
    const m = (minor) => money(minor, r.currency);
    const hours = r.sales_by_hour;
    out.replaceChildren(
      el("dl", { class: "kpis" }, [["Orders", String(r.orders)], ["Ordered", m(r.sales_minor)],
        ["Paid", m(r.paid_minor)], ["Not paid (open bills)", m(Math.max(0, r.sales_minor - r.paid_minor))],
        ["Tips", m(r.tips_minor)], ["Platform fees", m(r.platform_fees_minor)], ["Refunds", m(r.refunds_minor)]]
        .map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v })))),
      // the hub's daily report counts card payments through it: say how the two figures meet
      el("p", { class: "small muted", text: `Ordered counts every order placed on ${r.date}; Paid counts the payments `
        + "taken that day, card, cash and terminal alike, tips apart: the platform's gross for this restaurant once "
        + "the link has delivered them. The difference is what the open bills still owe; refunds are shown apart." }),
      el("figure", { class: "card" }, el("figcaption", { text: `Sales by hour, ${r.date}` }),
        hourChart(hours, m, "report-chart"),
        el("details", {}, el("summary", { text: "Sales by hour as a table" }),
          table("Sales by hour", ["Hour", "Sales"],
            hours.map((h) => [`${String(h.hour).padStart(2, "0")}:00`, m(h.sales_minor)])))),
      el("div", { class: "columns" },
        r.top_items.length ? table("Top items", ["Item", "Qty", "Sales"],
          r.top_items.map((i) => [i.name, String(i.qty), m(i.sales_minor)])) : el("p", { text: "No items sold." }),
        r.payments.length ? table("Payments by method", ["Method", "Payments", "Amount", "Tips"],
          r.payments.map((p) => [METHOD[p.method] || p.method, String(p.count), m(p.amount_minor), m(p.tip_minor)]))
          : el("p", { text: "No payments." })));
  }

  async function load() {
    const query = date.value ? `?date=${encodeURIComponent(date.value)}` : "";
    try {
      const { report } = await ctx.api("GET", `/api/v1/staff/report${query}`);
      errors.textContent = "";
      date.value = report.date;
      csv.href = `/api/v1/staff/report?date=${encodeURIComponent(report.date)}&format=csv`;
      render(report);
    } catch (err) {
      out.replaceChildren();
      form.hidden = err.status === 403; // not this person's screen: the agent's message says why
      say(errors, errorText(err));
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  // the figures move with every order and payment; reload when the screen is shown again
  // (it also fires once when first observed, which is the first load)
  new IntersectionObserver((seen) => { if (seen.some((s) => s.isIntersecting)) load(); }).observe(section);
}
