// A count on a screen's navigation link ("Requests 2"), read out with the link's name.
export function navLinkFor(section) {
  const id = section.id;
  const screen = section.dataset.screen || id;
  return document.querySelector(`nav [href="#${CSS.escape(id)}"], nav [aria-controls="${CSS.escape(id)}"], `
    + `nav [data-screen="${CSS.escape(screen)}"]`);
}

export function setBadge(section, count, noun) {
  const link = navLinkFor(section);
  if (!link) return;
  let badge = link.querySelector(".badge");
  if (!badge) {
    badge = document.createElement("span");
    badge.className = "badge";
    link.append(badge);
  }
  badge.hidden = count === 0;
  badge.textContent = String(count);
  badge.setAttribute("aria-label", `${count} open ${noun}${count === 1 ? "" : "s"}`);
}
