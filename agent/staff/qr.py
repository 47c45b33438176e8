"""QR codes for table cards: the table's menu link and joining the restaurant Wi-Fi.

Pure Python (qrcode, with pypng for PNG): a few milliseconds per code, so callers on the event
loop make many at once in a thread.
"""

import io

import qrcode
import qrcode.image.pure
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def table_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/t/{token}"


def _escape_wifi(text: str) -> str:
    """Backslash-escape what the Wi-Fi QR format reserves: \\ ; , : and \"."""
    for ch in ("\\", ";", ",", ":", '"'):
        text = text.replace(ch, "\\" + ch)
    return text


def wifi_payload(ssid: str, password: str) -> str:
    """The text phones read as "join this network" (WPA/WPA2; an open network when no password)."""
    if not password:
        return f"WIFI:T:nopass;S:{_escape_wifi(ssid)};;"
    return f"WIFI:T:WPA;S:{_escape_wifi(ssid)};P:{_escape_wifi(password)};;"


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def svg(data: str) -> str:
    """A scalable SVG (one path; sized by the page's CSS)."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    text = image.to_string(encoding="unicode")
    return text[text.index("<svg"):]  # no XML declaration: it is inlined into pages too


def png(data: str, box_size: int = 12) -> bytes:
    code = _code(data)
    code.box_size = box_size
    out = io.BytesIO()
    code.make_image(image_factory=qrcode.image.pure.PyPNGImage).save(out)
    return out.getvalue()
