// Which of the three screens shows: the page's hash says (#orders, #bill; else the menu). Shown at
// once when the page starts, before anything is fetched, so a link to /t/{token}#bill (the hub's
// "Back to your table") opens the bill on a cold load too, and offline from the worker's copy.
import { $ } from "./dom.js";

export const VIEWS = ["menu", "orders", "bill"];

export function showTab() {
  const view = ["#orders", "#bill"].includes(location.hash) ? location.hash.slice(1) : "menu";
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== view;
    const tab = $(`tab-${v}`);
    v === view ? tab.setAttribute("aria-current", "page") : tab.removeAttribute("aria-current");
  }
  return view;
}
