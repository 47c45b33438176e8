// The receipt page's one button: the browser's own print dialog (which also saves it as a PDF).
document.getElementById("print")?.addEventListener("click", () => print());
