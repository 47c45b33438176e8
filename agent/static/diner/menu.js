// The menu as the agent publishes it (GET /api/v1/menu?lang=xx), with lookups by id.
export const menu = { doc: null, items: new Map(), groups: new Map(), mods: new Map(), offline: false };

/** The copy the agent put into the page (saves a round trip before the first paint), once. */
function fromPage(lang) {
  const node = document.getElementById("menu-data");
  if (!node || node.dataset.lang !== lang) return null;
  node.remove();
  return JSON.parse(node.textContent);
}

/** Load the menu in a language: from the page the first time, then from the API (ETag-cached). */
export async function loadMenu(lang) {
  let doc = fromPage(lang);
  if (doc) {
    menu.offline = document.documentElement.dataset.offline === "1";  // the service worker's saved page
  } else {
    const r = await fetch(`/api/v1/menu?lang=${lang}`);
    if (!r.ok) throw new Error(`menu: HTTP ${r.status}`);
    doc = await r.json();
    menu.offline = r.headers.get("X-Tableside-Offline") === "1";  // the service worker's saved copy
  }
  menu.doc = doc;
  menu.items.clear(); menu.groups.clear(); menu.mods.clear();
  for (const g of doc.modifier_groups) {
    menu.groups.set(g.id, g);
    for (const x of g.modifiers) menu.mods.set(x.id, x);
  }
  for (const c of doc.categories) for (const it of c.items) menu.items.set(it.id, it);
  return doc;
}

export const unitPrice = (line) => (menu.items.get(line.item_id)?.price_minor ?? 0) +
  line.modifiers.reduce((s, id) => s + (menu.mods.get(id)?.price_minor ?? 0), 0);
