// The end of the party's visit on this phone. Once the bill is paid the visit goes on (food still
// coming keeps its tracker) with a link to the receipt; once it is over (all served and a while
// later, or staff closed the table) the phone says thank you, keeps the receipt link, and offers
// to start afresh, never showing the next party's table by itself.
import { $, el, fill } from "./dom.js";
import { t } from "./i18n.js";
import { call, tableUrl } from "./api.js";

let receipt = null;  // this visit's receipt page
let paid = false;  // the visit is settled: the table is free for the next party, this one's goes on
let endedReceipt = null;  // set while the phone shows its ended visit

export const hasEnded = () => endedReceipt !== null;

/** The receipt link, for the paid bill and the orders screens ("keep or print"). */
export function receiptLink() {
  return receipt ? el("a", { class: "button receipt-link", href: receipt, target: "_blank", rel: "noopener",
    text: t("receipt") }) : null;
}

/** What the table API says of this phone's visit: its session (paid or not) and whether it ended. */
export function visitIs(session, ended) {
  receipt = session?.receipt_url ?? null;
  paid = !!session?.settled;
  if (ended) showEnded(ended.receipt_url); else hideEnded();
  renderPaidNote();
}

export function showEnded(url) {
  endedReceipt = url || receipt || "";
  document.body.classList.add("ended");
  $("view-ended").hidden = false;
  renderEnded();
  $("ended-title").focus();
}

function hideEnded() {
  endedReceipt = null;
  document.body.classList.remove("ended");
  $("view-ended").hidden = true;
}

function renderEnded() {
  if (endedReceipt === null) return;
  $("ended-title").textContent = t("endedTitle");
  fill($("ended-body"),
    el("p", { text: t("endedBody", $("table-name").textContent) }),
    endedReceipt ? el("p", {}, el("a", { id: "ended-receipt", class: "button primary", href: endedReceipt,
      target: "_blank", rel: "noopener", text: t("receipt") })) : null,
    el("p", {}, el("button", { id: "ended-new", type: "button", text: t("newVisit"), onclick: startAfresh })));
}

/** On the orders screen once paid: the tracker goes on; the receipt is one tap away. */
function renderPaidNote() {
  const note = $("orders-paid");
  note.hidden = !paid;
  if (paid) fill(note, el("p", { text: t("paidNote") }), receiptLink());
}

async function startAfresh() {
  await call(tableUrl("/visit"), { method: "DELETE" }).catch(() => {});
  location.replace(location.pathname);  // a clean page, as a new scan of the table would be
}

export function relabelEnd() { renderEnded(); renderPaidNote(); }
