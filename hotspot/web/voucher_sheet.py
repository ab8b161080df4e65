"""Printable vouchers: A4 sheets of cards to cut out, each with the package, its price and
validity, the code, and a QR code that opens the portal's voucher page with the code filled in.

The QR code carries the code in the URL's fragment (`/portal/voucher#code=…`): a phone never
sends a fragment to a server, so no access log, proxy or Referer header ever holds a code; the
page's script reads it and clears it from the address bar.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from hotspot.billing.voucher_admin import CreatedBatch
from hotspot.models import Operator, Package
from hotspot.models.operators import DEFAULT_OPERATOR_CODE
from hotspot.web.portal_text import (
    brand_text,
    data_allowance_text,
    price_text,
    validity_text,
)

COLUMNS, ROWS = 3, 7  # 21 cards on a sheet
CARD_WIDTH, CARD_HEIGHT = 63 * mm, 38 * mm
QR_SIZE = 26 * mm  # about 0.8 mm a module at the usual size: any phone camera reads it
PAD = 2.5 * mm
LIGHT_GREY = (0.75, 0.75, 0.75)


@dataclass(frozen=True)
class VoucherCard:
    brand: str
    package: str
    price: str
    validity: str
    data: str
    code: str
    url: str  # what the QR code opens


def voucher_url(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/portal/voucher#code={code}"


def cards(
    operator: Operator, package: Package, codes: Iterable[str], public_base_url: str
) -> list[VoucherCard]:
    lang = "en"
    installations = operator.code == DEFAULT_OPERATOR_CODE
    shown = {
        "brand": brand_text(operator.portal_name, operator.name, installations, lang),
        "package": package.name,
        "price": price_text(package),
        "validity": validity_text(package, lang),
        "data": data_allowance_text(package, lang),
    }
    return [
        VoucherCard(**shown, code=code, url=voucher_url(public_base_url, code)) for code in codes
    ]


def batch_sheets(session: Session, created: CreatedBatch, public_base_url: str) -> bytes:
    """A batch just made, printed: what the CLI writes and the admin API answers."""
    seller = session.get_one(Operator, created.package.operator_id)
    every = cards(seller, created.package, created.codes, public_base_url)
    return voucher_pdf(created.batch, every)


def voucher_pdf(batch: str, every: Sequence[VoucherCard]) -> bytes:
    """The sheets, in the order of the codes; cut along the grey lines."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=True)
    canvas.setTitle(f"Vouchers {batch}")
    canvas.setCreator("hotspot")
    left = (A4[0] - COLUMNS * CARD_WIDTH) / 2
    top = A4[1] - (A4[1] - ROWS * CARD_HEIGHT) / 2
    per_sheet = COLUMNS * ROWS
    for n, card in enumerate(every):
        if n and n % per_sheet == 0:
            canvas.showPage()
        row, column = divmod(n % per_sheet, COLUMNS)
        draw_card(canvas, card, left + column * CARD_WIDTH, top - (row + 1) * CARD_HEIGHT, batch)
    canvas.save()
    return out.getvalue()


def draw_card(canvas: Canvas, card: VoucherCard, x: float, y: float, batch: str) -> None:
    canvas.setStrokeColorRGB(*LIGHT_GREY)
    canvas.setLineWidth(0.3)
    canvas.setDash(2, 2)
    canvas.rect(x, y, CARD_WIDTH, CARD_HEIGHT, stroke=1, fill=0)
    canvas.setDash()
    draw_qr(canvas, card.url, x + PAD, y + (CARD_HEIGHT - QR_SIZE) / 2, QR_SIZE)
    text_x = x + PAD + QR_SIZE + PAD
    width = x + CARD_WIDTH - PAD - text_x
    lines = (
        (card.brand, "Helvetica", 6.5, 0.35),
        (card.package, "Helvetica-Bold", 9, 0.0),
        (card.price, "Helvetica-Bold", 11, 0.0),
        (card.validity, "Helvetica", 6.5, 0.2),
        (card.data, "Helvetica", 6.5, 0.2),
    )
    baseline = y + CARD_HEIGHT - PAD
    for text, font, size, grey in lines:
        canvas.setFillColorRGB(grey, grey, grey)
        canvas.setFont(font, size)
        baseline -= size + 2
        canvas.drawString(text_x, baseline, fitted(text, font, size, width))
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont("Courier-Bold", 11.5)
    # Capitals read best on paper; redeeming ignores case.
    shown = card.code.upper()
    canvas.drawString(text_x, y + PAD + 7, fitted(shown, "Courier-Bold", 11.5, width))
    canvas.setFont("Helvetica", 5)
    canvas.setFillColorRGB(0.4, 0.4, 0.4)
    canvas.drawString(text_x, y + PAD, fitted(f"batch {batch}", "Helvetica", 5, width))


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The symbol's dark modules as one filled path, a rectangle per horizontal run: a small,
    fast PDF (a drawing object per module would be a hundred times the size)."""
    matrix = segno.make_qr(data, error="m", boost_error=False).matrix
    count = len(matrix)
    module = size / count
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < count:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < count and row[c]:
                c += 1
            path.rect(
                x + start * module, y + (count - 1 - r) * module, (c - start) * module, module
            )
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def fitted(text: str, font: str, size: float, width: float) -> str:
    """The text, cut with an ellipsis to the width it has."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
