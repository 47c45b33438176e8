// Tableside diner app, first part: what the first paint needs (the menu, in the diner's language).
// Everything for after ordering (cart sheet, orders, bill, live stream) loads right after, in visit.js.
import { $, el, announce } from "./dom.js";
import { t, setLang, initialLang, lang, LANGS, langName } from "./i18n.js";
import { setCurrency } from "./money.js";
import { menu, loadMenu } from "./menu.js";
import { renderMenu, bindSearch } from "./menu-view.js";
import { showTab } from "./tabs.js";

let visit = null;  // the visit.js module once loaded

function translatePage() {
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("search").placeholder = t("search");
  $("cart-close").setAttribute("aria-label", t("close"));
}

export async function showMenu(language) {
  const doc = await loadMenu(language);
  setCurrency(doc.restaurant.currency, doc.restaurant.exponent);
  $("restaurant").textContent = doc.restaurant.name;
  renderMenu();
  if (!performance.getEntriesByName("menu-paint").length) performance.mark("menu-paint");  // vitals.js
  return doc;
}

function languageSwitcher(offered) {
  const choices = offered.filter((l) => LANGS.includes(l));
  const select = $("lang");
  select.replaceChildren(...choices.map((l) => el("option", { value: l, selected: l === lang, lang: l, text: langName(l) })));
  $("lang-box").hidden = choices.length < 2;
  select.onchange = async () => {
    setLang(select.value, true);
    translatePage();
    await showMenu(lang);
    visit?.relabel();
  };
}

async function boot() {
  showTab();  // before the menu: a link to #bill must not flash the menu first (or stay on it offline)
  addEventListener("hashchange", showTab);  // visit.js adds loading what the tab shows
  setLang(initialLang());
  translatePage();
  let doc;
  try {
    doc = await showMenu(lang);
  } catch {
    $("menu").removeAttribute("aria-busy");
    announce("alert", t("loadFail"));
    return;
  }
  if (menu.offline) announce("notice", t("offlineMenu"));
  bindSearch();
  languageSwitcher(doc.restaurant.languages || [lang]);
  visit = await import("./visit.js");
  visit.start(showMenu);
}

boot();
