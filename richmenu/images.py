"""Draw the rich menu images from text and simple shapes, with a Japanese font from Debian's fonts-noto-cjk."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from richmenu.menus import HEIGHT, MENUS, WIDTH

FONT_CANDIDATES = [
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc"),
]
MAX_BYTES = 1024 * 1024  # LINE's limit for a rich menu image
LABEL_SIZE, SUB_SIZE = 150, 78  # readable on a phone, as the council asked for larger print


class FontMissing(RuntimeError):
    pass


def font_path() -> Path:
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    raise FontMissing("No Japanese font for the rich menu images: install Debian's fonts-noto-cjk "
                      "(apt-get install fonts-noto-cjk; `make` and the Dockerfile do).")


def render(kind: str) -> bytes:
    """The menu as a PNG of 2500 x 1686 pixels, under 1 MB, its buttons where the tap areas are."""
    path = font_path()
    label_font = ImageFont.truetype(str(path), LABEL_SIZE)
    sub_font = ImageFont.truetype(str(path), SUB_SIZE)
    image = Image.new("RGB", (WIDTH, HEIGHT), "#f4f6f8")
    draw = ImageDraw.Draw(image)
    for button in MENUS[kind]:
        b = button.bounds()
        box = (b["x"] + 18, b["y"] + 18, b["x"] + b["width"] - 18, b["y"] + b["height"] - 18)
        draw.rounded_rectangle(box, radius=48, fill=button.color)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        draw.text((cx, cy - 40), button.label, font=label_font, fill="white", anchor="mm")
        draw.text((cx, cy + 110), button.sub, font=sub_font, fill="white", anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_BYTES:
        raise ValueError(f"the {kind} menu image is {len(data)} bytes, over LINE's 1 MB")
    return data
