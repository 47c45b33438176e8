"""Money: integer minor units and ISO 4217 currency exponents. Never floats."""

# ISO 4217 minor-unit exponents for the currencies that differ from 2, plus the common 2s.
_EXPONENTS = {
    # zero-decimal
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # two-decimal (the usual case; listed so unknown codes are caught)
    "AED": 2, "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2,
    "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "MXN": 2, "MYR": 2, "NOK": 2,
    "NZD": 2, "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2,
    "TWD": 2, "USD": 2, "ZAR": 2,
}


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
