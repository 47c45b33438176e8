// The menu screen: sticky category navigation, search, diet and allergen filters, item cards.
import { $, el, announce, MOMENT_MS } from "./dom.js";
import { t, label } from "./i18n.js";
import { money } from "./money.js";
import { menu } from "./menu.js";

const filters = { q: "", tags: new Set(), without: new Set() };
let spy = null;

const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

export function renderMenu() {
  const doc = menu.doc;
  const all = [...menu.items.values()];
  const tags = [...new Set(all.flatMap((i) => i.tags))];
  const allergens = [...new Set(all.flatMap((i) => i.allergens))].sort();
  $("search-label").textContent = t("search");
  $("filters-summary").textContent = t("filters");
  $("filter-box").replaceChildren(
    chips("diet", t("diet"), tags, filters.tags, label),
    chips("without", t("without"), allergens, filters.without, (a) => `${t("without")} ${label(a)}`),
    el("button", { type: "button", class: "link", onclick: clearFilters, text: t("clear") }));
  $("cats").replaceChildren(el("ul", {}, doc.categories.map((c) =>
    el("li", { "data-cat": c.id }, el("a", { href: `#cat-${c.id}`, onclick: jump, text: c.name })))));
  // the first categories paint at once; the rest follow a frame later (a slow phone shows food sooner)
  const run = ++drawing;
  $("menu").replaceChildren(...doc.categories.slice(0, FIRST).map(section));
  apply();
  const rest = () => {
    if (run !== drawing) return;
    drawing++;
    $("menu").append(...doc.categories.slice(FIRST).map(section));
    $("menu").removeAttribute("aria-busy");
    apply();
    watchCategories();
  };
  requestAnimationFrame(() => setTimeout(rest));
  setTimeout(rest, 200);  // no frames in a hidden tab: don't wait for one
}

const FIRST = 2;
let drawing = 0;

function chips(name, title, values, chosen, text) {
  return el("fieldset", { class: "chips" }, el("legend", { text: title }), values.map((v) => {
    const id = `f-${name}-${v}`;
    return el("span", { class: "chip" },
      el("input", { type: "checkbox", id, value: v, checked: chosen.has(v),
        onchange: (e) => { e.target.checked ? chosen.add(v) : chosen.delete(v); apply(); } }),
      el("label", { for: id, text: text(v) }));
  }));
}

function clearFilters() {
  filters.tags.clear(); filters.without.clear(); filters.q = ""; $("search").value = "";
  renderMenu();
}

function section(c) {
  return el("section", { class: "cat", id: `cat-${c.id}`, "aria-labelledby": `h-${c.id}`, "data-cat": c.id },
    el("h2", { id: `h-${c.id}`, text: c.name }),
    el("ul", { class: "items", role: "list" }, c.items.map(card)));
}

function card(it) {
  const out = it.available === false;
  return el("li", { class: `item${it.photo ? " has-photo" : ""}${out ? " sold-out" : ""}`, "data-item": it.id },
    it.photo ? el("img", { src: it.photo.url, width: it.photo.width, height: it.photo.height, alt: "", loading: "lazy",
      decoding: "async" }) : null,
    el("div", { class: "info" },
      el("h3", { id: `n-${it.id}`, text: it.name }),
      it.description ? el("p", { class: "desc", text: it.description }) : null,
      it.tags.length ? el("p", { class: "tags" }, it.tags.map((x) => el("span", { class: `tag tag-${x}`, text: label(x) }))) : null,
      it.allergens.length ? el("p", { class: "muted small", text: `${t("contains")}: ${it.allergens.map(label).join(", ")}` }) : null),
    el("div", { class: "buy" },
      el("span", { class: "price", text: money(it.price_minor) }),
      out ? el("span", { class: "sold", text: t("soldOut") })
        : el("button", { type: "button", class: "add", "aria-label": t("addNamed", it.name), text: t("add"),
          onclick: () => (it.modifier_groups.length ? openItem(it.id) : quickAdd(it)) })));
}

// Not needed for the first paint: fetched with the rest of the app right after it, so a tap finds them ready.
const openItem = (id) => import("./item-sheet.js").then((m) => m.openItem(id));

/** Nothing to choose: one tap adds it (a note can still be added from the cart's Edit). */
async function quickAdd(it) {
  const cart = await import("./cart.js");
  cart.put({ item_id: it.id, qty: 1, modifiers: [], note: "" });
  announce("notice", t("added", it.name), { fadeAfter: MOMENT_MS });
}

/** Show only what matches the search and filters; hide emptied categories (and their nav links). */
export function apply() {
  const q = fold(filters.q.trim());
  let shown = 0;
  for (const c of menu.doc.categories) {
    let visible = 0;
    for (const it of c.items) {
      const ok = (!q || fold(`${it.name} ${it.description}`).includes(q)) &&
        [...filters.tags].every((x) => it.tags.includes(x)) && !it.allergens.some((a) => filters.without.has(a));
      const card = document.querySelector(`[data-item="${it.id}"]`);
      if (card) card.hidden = !ok;  // (not drawn yet: apply() runs again once it is)
      visible += ok;
    }
    for (const node of document.querySelectorAll(`[data-cat="${c.id}"]`)) node.hidden = !visible;
    shown += visible;
  }
  const n = filters.tags.size + filters.without.size;
  // "fewer filters" only helps when some are set; else it is the words searched for
  $("no-match").textContent = shown ? "" : n ? t("noMatch") : t("noMatchSearch", filters.q.trim());
  // said inside the open filter panel too: the results may be below the fold, a tap must show
  $("filter-count").textContent = n ? t(shown === 1 ? "match1" : "matches", shown) : "";
  $("filters-summary").textContent = n ? `${t("filters")} (${n})` : t("filters");
}

export function bindSearch() {
  $("search").addEventListener("input", (e) => { filters.q = e.target.value; apply(); });
}

function jump(e) {
  e.preventDefault();
  const target = document.querySelector(e.currentTarget.getAttribute("href"));
  target.scrollIntoView({ behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
  target.querySelector("h2").setAttribute("tabindex", "-1");
  target.querySelector("h2").focus({ preventScroll: true });
}

/** Mark the category being read in the sticky navigation. */
function watchCategories() {
  spy?.disconnect();
  spy = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      for (const a of $("cats").querySelectorAll("a")) {
        const on = a.getAttribute("href") === `#${e.target.id}`;
        on ? a.setAttribute("aria-current", "true") : a.removeAttribute("aria-current");
        if (on) a.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    }
  }, { rootMargin: "-30% 0px -65% 0px" });
  for (const s of document.querySelectorAll("section.cat")) spy.observe(s);
}
