// The staff dashboard: sign-in, then a shell of screens switched by the URL's #hash.
import { api, setCsrf, whenSignedOut } from "./api.js";
import * as staffScreen from "./staff-accounts.js";
import * as menuScreen from "./menu.js";
import * as tablesScreen from "./tables.js";
// the live screens (board, requests, bills, devices, report) live under /static/staff/screens/
import { clear as clearAlert, raise as raiseAlert } from "./alerts.js";
import { startScreens } from "/static/staff/screens/index.js";

// Screens with code. Board, requests, bills, devices and report plug in here the same way:
// a module with show(root, session) called each time its screen is opened.
const SCREENS = { tables: tablesScreen, menu: menuScreen, staff: staffScreen };
const $ = (id) => document.getElementById(id);
let session = null;

function showSignIn(message = "", info = false) {
  session = null;
  setCsrf("");
  $("shell").hidden = true;
  $("signin").hidden = false;
  const msg = $("signin-message");
  msg.textContent = message;
  msg.classList.toggle("info", info);
  $("signin-secret").value = "";
  ($("signin-name").value ? $("signin-secret") : $("signin-name")).focus();
}

function showShell(data) {
  session = data;
  setCsrf(data.csrf_token);
  $("signin").hidden = true;
  $("shell").hidden = false;
  $("who-name").textContent = data.staff.name;
  // the role beside the name, unless the name already says it (the demo's "Manager")
  const role = $("who-role");
  role.textContent = data.staff.role;
  role.hidden = data.staff.name.trim().toLowerCase() === data.staff.role;
  for (const link of document.querySelectorAll("#nav a[data-role]")) link.hidden = link.dataset.role !== data.staff.role;
  startScreens({ api, raise: raiseAlert, clear: clearAlert, staff: data.staff });
  route();
}

function route() {
  if (!session) return;
  let name = location.hash.slice(1) || "board";
  if (!document.querySelector(`.screen[data-screen="${CSS.escape(name)}"]`)) name = "board";
  for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.dataset.screen !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.screen === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  SCREENS[name]?.show(document.querySelector(`#screen-${name} [id$="-root"]`), session);
}

async function signIn(event) {
  event.preventDefault();
  const name = $("signin-name").value.trim();
  const secret = $("signin-secret").value;
  if (!name || !secret) return showSignIn("Enter your name and your PIN or password.");
  $("signin-submit").disabled = true;
  try {
    showShell(await api("/api/v1/staff/session", { method: "POST", body: { name, secret } }));
  } catch (e) {
    // the agent's message says what happened: wrong PIN, locked until when, too many tries
    showSignIn(e.message);
  } finally {
    $("signin-submit").disabled = false;
  }
}

async function signOut() {
  try {
    await api("/api/v1/staff/session", { method: "DELETE" });
  } catch { /* already signed out: the same end */ }
  showSignIn("You are signed out.", true);
}

async function start() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  // the first refusal says why (expired, disabled); later ones from screens still loading add nothing
  whenSignedOut((e) => { if (session) showSignIn(e.message); });
  try {
    const menu = await fetch("/api/v1/menu").then((r) => r.json());
    $("restaurant-name").textContent = menu.restaurant?.name || "Tableside";
  } catch { /* the name is a nicety */ }
  try {
    showShell(await api("/api/v1/staff/session"));
  } catch (e) {
    showSignIn(e.status === 401 && e.extra.reason === "expired" ? e.message : "");
  }
}

start();
