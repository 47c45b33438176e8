"""Small, accessible, mobile-first HTML pages in the diner's language (en, de, fr).

No scripts and no external resources: a page works on a slow phone connection and under a strict
Content-Security-Policy. Every value put into a page goes through html.escape.
"""

from html import escape

from aiohttp import web

from contract.money import exponent

LANGUAGES = ("en", "de", "fr")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "back": "Back to your table",
        "invalid_title": "This payment link is not valid",
        "invalid_body": "It was changed or not issued by this restaurant. Go back to your table and open the bill "
                        "again.",
        "expired_title": "This payment link has expired",
        "expired_body": "Nothing was charged. Go back to your table and choose what to pay again.",
        "paid_title": "Already paid",
        "paid_body": "This share of the bill has been paid. Thank you!",
        "bill_done_title": "This bill is already paid",
        "bill_done_body": "The bill has already been paid in full. Nothing was charged.",
        "unavailable_title": "Card payments are not available right now",
        "unavailable_body": "This restaurant cannot take card payments yet. Please pay at the till.",
        "provider_title": "The payment service did not answer",
        "provider_body": "Nothing was charged. Please try again in a moment.",
        "declined_title": "The payment was declined",
        "declined_body": "Nothing was charged. Go back to your table to try again or pay another way.",
        "received_title": "Payment received",
        "received_body": "Thank you! The restaurant has your payment.",
        "processing_title": "Payment processing",
        "processing_body": "We are waiting for the confirmation. This page updates itself.",
        "cancelled_title": "Payment cancelled",
        "cancelled_body": "Nothing was charged.",
        "not_found_title": "Payment not found",
        "not_found_body": "We have no payment under this address.",
        "demo_title": "Demo payment",
        "demo_banner": "DEMO: no real money moves and no card details are asked for.",
        "demo_check": "Check the amount, then pay or decline.",
        "demo_pay": "Pay {amount}",
        "demo_decline": "Decline",
        "share": "Your share",
        "tip": "Tip",
        "total": "Total",
        "table": "Table",
    },
    "de": {
        "back": "Zurück zu Ihrem Tisch",
        "invalid_title": "Dieser Zahlungslink ist ungültig",
        "invalid_body": "Er wurde verändert oder nicht von diesem Restaurant ausgestellt. Öffnen Sie die Rechnung am "
                        "Tisch erneut.",
        "expired_title": "Dieser Zahlungslink ist abgelaufen",
        "expired_body": "Es wurde nichts abgebucht. Wählen Sie am Tisch erneut, was Sie bezahlen möchten.",
        "paid_title": "Bereits bezahlt",
        "paid_body": "Dieser Teil der Rechnung ist bezahlt. Vielen Dank!",
        "bill_done_title": "Diese Rechnung ist schon bezahlt",
        "bill_done_body": "Die Rechnung wurde schon ganz bezahlt. Es wurde nichts abgebucht.",
        "unavailable_title": "Kartenzahlung ist gerade nicht möglich",
        "unavailable_body": "Dieses Restaurant kann noch keine Kartenzahlungen annehmen. Bitte zahlen Sie an der "
                            "Kasse.",
        "provider_title": "Der Zahlungsdienst hat nicht geantwortet",
        "provider_body": "Es wurde nichts abgebucht. Bitte versuchen Sie es gleich noch einmal.",
        "declined_title": "Die Zahlung wurde abgelehnt",
        "declined_body": "Es wurde nichts abgebucht. Versuchen Sie es am Tisch erneut oder zahlen Sie anders.",
        "received_title": "Zahlung erhalten",
        "received_body": "Vielen Dank! Das Restaurant hat Ihre Zahlung erhalten.",
        "processing_title": "Zahlung wird bearbeitet",
        "processing_body": "Wir warten auf die Bestätigung. Diese Seite aktualisiert sich selbst.",
        "cancelled_title": "Zahlung abgebrochen",
        "cancelled_body": "Es wurde nichts abgebucht.",
        "not_found_title": "Zahlung nicht gefunden",
        "not_found_body": "Unter dieser Adresse gibt es keine Zahlung.",
        "demo_title": "Demo-Zahlung",
        "demo_banner": "DEMO: Es fließt kein echtes Geld und es werden keine Kartendaten abgefragt.",
        "demo_check": "Prüfen Sie den Betrag, dann bezahlen oder ablehnen.",
        "demo_pay": "{amount} bezahlen",
        "demo_decline": "Ablehnen",
        "share": "Ihr Anteil",
        "tip": "Trinkgeld",
        "total": "Gesamt",
        "table": "Tisch",
    },
    "fr": {
        "back": "Retour à votre table",
        "invalid_title": "Ce lien de paiement n'est pas valide",
        "invalid_body": "Il a été modifié ou n'a pas été émis par ce restaurant. Rouvrez l'addition depuis votre "
                        "table.",
        "expired_title": "Ce lien de paiement a expiré",
        "expired_body": "Rien n'a été débité. Retournez à votre table pour choisir à nouveau ce que vous payez.",
        "paid_title": "Déjà payé",
        "paid_body": "Cette part de l'addition est payée. Merci !",
        "bill_done_title": "Cette addition est déjà réglée",
        "bill_done_body": "L'addition a déjà été payée en entier. Rien n'a été débité.",
        "unavailable_title": "Le paiement par carte n'est pas disponible",
        "unavailable_body": "Ce restaurant ne peut pas encore accepter les cartes. Merci de payer à la caisse.",
        "provider_title": "Le service de paiement n'a pas répondu",
        "provider_body": "Rien n'a été débité. Merci de réessayer dans un instant.",
        "declined_title": "Le paiement a été refusé",
        "declined_body": "Rien n'a été débité. Retournez à votre table pour réessayer ou payer autrement.",
        "received_title": "Paiement reçu",
        "received_body": "Merci ! Le restaurant a bien reçu votre paiement.",
        "processing_title": "Paiement en cours",
        "processing_body": "Nous attendons la confirmation. Cette page se met à jour toute seule.",
        "cancelled_title": "Paiement annulé",
        "cancelled_body": "Rien n'a été débité.",
        "not_found_title": "Paiement introuvable",
        "not_found_body": "Aucun paiement à cette adresse.",
        "demo_title": "Paiement de démonstration",
        "demo_banner": "DÉMO : aucun argent réel ne circule et aucune donnée de carte n'est demandée.",
        "demo_check": "Vérifiez le montant, puis payez ou refusez.",
        "demo_pay": "Payer {amount}",
        "demo_decline": "Refuser",
        "share": "Votre part",
        "tip": "Pourboire",
        "total": "Total",
        "table": "Table",
    },
}

_STYLE = """body{font:1.0625rem/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.5rem;line-height:1.25}
a,button{display:block;width:100%;box-sizing:border-box;text-align:center;font:inherit;padding:.85rem 1rem;
margin:.75rem 0;border-radius:.5rem;border:2px solid #1a1a1a;background:#fff;color:#1a1a1a;text-decoration:none}
.primary{background:#14532d;border-color:#14532d;color:#fff}
.demo{background:#fef3c7;border:2px dashed #92400e;color:#78350f;padding:.75rem;border-radius:.5rem;font-weight:600}
dl{display:grid;grid-template-columns:1fr auto;gap:.25rem 1rem}dd{margin:0;text-align:right}
a:focus,button:focus{outline:3px solid #2563eb;outline-offset:2px}"""


def language(request: web.Request, chosen: object = None) -> str:
    """The language the diner chose on the table's page (`?lang=` on the pay link, or the demo
    form's field), else the first of en/de/fr the browser asks for (Accept-Language), else English."""
    for pick in (chosen, request.query.get("lang")):
        if isinstance(pick, str) and pick in LANGUAGES:
            return pick
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def carried(request: web.Request, chosen: object = None) -> str:
    """"?lang=de" when the diner chose the language (so the next page keeps it), else "" (the next
    page asks the browser again, as this one did)."""
    for pick in (chosen, request.query.get("lang")):
        if isinstance(pick, str) and pick in LANGUAGES:
            return f"?lang={pick}"
    return ""


def safe_href(url: str | None) -> str | None:
    """Only http(s) links go into a page (never javascript: and the like)."""
    if url and url.startswith(("https://", "http://")):
        return url
    return None


# A pay page inside someone else's frame could be dressed up to take a diner's click: never framed.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                           "frame-ancestors 'none'; base-uri 'none'"}


def page(lang: str, title_key: str, body_key: str, *, status: int = 200, back: str | None = None,
         extra: str = "", refresh_s: int | None = None) -> web.Response:
    text = TEXT[lang]
    href = safe_href(back)
    link = f'<a class="primary" href="{escape(href)}">{escape(text["back"])}</a>' if href else ""
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">{refresh}'
            f'<meta name="referrer" content="no-referrer"><title>{escape(text[title_key])}</title>'
            f'<style>{_STYLE}</style></head><body><main><h1>{escape(text[title_key])}</h1>'
            f'<p role="status">{escape(text[body_key])}</p>{extra}{link}</main></body></html>')
    return web.Response(text=html, status=status, content_type="text/html",
                        headers=PAGE_HEADERS)


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF", "JPY": "¥"}


def money(lang: str, amount_minor: int, currency: str) -> str:
    """An amount as a diner of that language writes it: "€28.90" in English, "28,90 €" in German and
    French (no locale database needed for three languages)."""
    exp = exponent(currency)
    whole, frac = divmod(abs(amount_minor), 10**exp) if exp else (abs(amount_minor), 0)
    sign = "-" if amount_minor < 0 else ""
    symbol = _SYMBOLS.get(currency, currency)
    if lang == "en":
        digits = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
        return f"{sign}{symbol}{digits}" if len(symbol) == 1 else f"{sign}{symbol} {digits}"
    digits = f"{whole:,}".replace(",", "\u202f" if lang == "fr" else ".") + (f",{frac:0{exp}d}" if exp else "")
    return f"{sign}{digits}\u00a0{symbol}"


def amounts(lang: str, currency: str, amount_minor: int, tip_minor: int, table_name: str = "") -> str:
    text = TEXT[lang]
    rows = []
    if table_name:
        rows.append((text["table"], table_name))
    rows.append((text["share"], money(lang, amount_minor, currency)))
    if tip_minor:
        rows.append((text["tip"], money(lang, tip_minor, currency)))
    rows.append((text["total"], money(lang, amount_minor + tip_minor, currency)))
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def demo_form(lang: str, token: str, total: str) -> str:
    """The demo card page's buttons: a plain POST carrying the signed token (no cookies, no CSRF token
    needed: whoever can post the token could open the link anyway)."""
    text = TEXT[lang]
    return (f'<p class="demo" role="note">{escape(text["demo_banner"])}</p>'
            f'<form method="post" action="/pay/demo"><input type="hidden" name="token" value="{escape(token)}">'
            f'<input type="hidden" name="lang" value="{escape(lang)}">'
            f'<button class="primary" type="submit" name="action" value="pay">'
            f'{escape(text["demo_pay"].format(amount=total))}</button>'
            f'<button type="submit" name="action" value="decline">{escape(text["demo_decline"])}</button></form>')
