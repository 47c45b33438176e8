// Money: integer minor units in, the bill's currency out (EUR 2 decimals, JPY none, KWD 3).
const formats = new Map();

function format(currency) {
  if (!formats.has(currency)) {
    formats.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formats.get(currency);
}

export const exponent = (currency) => format(currency).resolvedOptions().maximumFractionDigits;

export const money = (minor, currency) => format(currency).format(minor / 10 ** exponent(currency));

/** "12,50" or "12.50" typed by staff -> minor units; NaN when it is not an amount. */
export function parseMoney(text, currency) {
  const exp = exponent(currency);
  const clean = String(text).trim().replace(/\s/g, "").replace(",", ".");
  if (!/^\d+(\.\d*)?$/.test(clean)) return NaN;
  const [whole, frac = ""] = clean.split(".");
  if (frac.length > exp) return NaN;
  return Number(whole) * 10 ** exp + Number((frac + "0".repeat(exp)).slice(0, exp) || 0);
}

/** The amount as typed in a form field (no currency sign): 1250 EUR -> "12.50". */
export const plain = (minor, currency) => (minor / 10 ** exponent(currency)).toFixed(exponent(currency));
