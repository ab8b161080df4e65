"""Reading printed voucher sheets back as a phone would: each page rendered to an image, every
QR code on it decoded; and the words printed on it."""

from __future__ import annotations

import pypdfium2
import zxingcpp

SCALE = 150 / 72  # 150 dpi: a cheap office printer's worst


def decoded_qr_codes(pdf: bytes) -> list[list[str]]:
    """Per page, the text of every QR code found on it (in no particular order)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            image = page.render(scale=SCALE, grayscale=True).to_pil()
            found = zxingcpp.read_barcodes(image)
            pages.append([each.text for each in found])
        return pages
    finally:
        document.close()


def page_texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()
