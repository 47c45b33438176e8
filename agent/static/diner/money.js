// Prices: integer minor units in, the diner's locale out (EUR has 2 decimals, JPY none).
import { locale } from "./i18n.js";

let nf = null;
let exp = 2;

export function setCurrency(currency, exponent) {
  exp = exponent;
  nf = new Intl.NumberFormat(locale(), {
    style: "currency", currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent,
  });
}

export const money = (minor) => nf.format(minor / 10 ** exp);

/** "12,50" or "12.50" typed by a diner -> minor units, or NaN. */
export function parseMoney(text) {
  const clean = String(text).trim().replace(/\s/g, "").replace(",", ".");
  if (!/^\d+(\.\d*)?$/.test(clean)) return NaN;
  const [whole, frac = ""] = clean.split(".");
  if (frac.length > exp) return NaN;
  return Number(whole) * 10 ** exp + Number((frac + "0".repeat(exp)).slice(0, exp) || 0);
}

export const percentOf = (minor, pct) => Math.round((minor * pct) / 100);
