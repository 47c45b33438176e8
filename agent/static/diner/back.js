// /t/back: where pay links signed before "Back to your table" went straight to /t/{token}#bill
// (agent/web/diner/visit_api.pay_url) lead. Back to the bill of the table this phone last opened;
// without one, the page already says to scan the code on the table again.
let table = null;
try { table = localStorage.getItem("tableside.table"); } catch { /* private mode */ }
if (table && /^[A-Za-z0-9_-]+$/.test(table)) location.replace(`/t/${encodeURIComponent(table)}#bill`);
