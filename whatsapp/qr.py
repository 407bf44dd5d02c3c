"""The login QR code as an image: a PNG data URL, for the pages and the API."""

import base64
import io

import qrcode
from qrcode.image.pure import PyPNGImage


def qr_data_url(code: str) -> str:
    image = qrcode.make(code, image_factory=PyPNGImage, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
