// The table cards page: the Print button.
document.getElementById("print")?.addEventListener("click", () => window.print());
