"""Money: integer minor units and ISO 4217 currency exponents. Never floats."""

# ISO 4217 minor-unit exponents for the currencies that differ from 2, plus the common 2s.
_EXPONENTS = {
    # zero-decimal (as Stripe's API counts them: MGA is zero-decimal there though ISO 4217 says 2, and
    # amounts reach Stripe as they are. ISK is zero-decimal too, but Stripe wants it sent x100.)
    "MGA": 0, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # two-decimal (the usual case; listed so unknown codes are caught)
    "AED": 2, "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2,
    "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "MXN": 2, "MYR": 2, "NOK": 2,
    "NZD": 2, "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2,
    "TWD": 2, "USD": 2, "ZAR": 2,
    # the rest of what Stripe takes (two-decimal)
    "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2,
    "BDT": 2, "BGN": 2, "BMD": 2, "BND": 2, "BOB": 2, "BSD": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CDF": 2,
    "COP": 2, "CRC": 2, "CVE": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ETB": 2, "FJD": 2, "FKP": 2, "GEL": 2,
    "GIP": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HNL": 2, "HTG": 2, "JMD": 2, "KES": 2, "KGS": 2, "KHR": 2,
    "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2, "MKD": 2,
    "MMK": 2, "MNT": 2, "MOP": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2,
    "NPR": 2, "PAB": 2, "PEN": 2, "PGK": 2, "PKR": 2, "QAR": 2, "RSD": 2, "RUB": 2, "SBD": 2, "SCR": 2,
    "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "STD": 2, "SZL": 2, "TJS": 2, "TOP": 2, "TTD": 2, "TZS": 2,
    "UAH": 2, "UYU": 2, "UZS": 2, "WST": 2, "XCD": 2, "XCG": 2, "YER": 2, "ZMW": 2,
}


# The most any one price, tip, share, payment or refund may be, in minor units: a hundred million
# of a two-decimal currency. A bound far above any real bill, so that sums of many of them still
# fit the 64-bit integers of SQLite, PostgreSQL's BIGINT and Stripe.
MAX_MINOR = 10**10 - 1


def exponent(currency: str) -> int:
    """Digits after the decimal point for an ISO 4217 code; ValueError for an unknown code."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown or unsupported currency {currency!r} (ISO 4217 code expected)") from None


def format_minor(amount_minor: int, currency: str) -> str:
    """'12.50 EUR', '1200 JPY', '1.250 KWD': plain and locale-free, for tickets and logs."""
    exp = exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp) if exp else (abs(amount_minor), 0)
    text = f"{whole}.{frac:0{exp}d}" if exp else str(whole)
    return f"{sign}{text} {currency}"
