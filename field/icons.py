"""The app's icons, drawn with Pillow when the routes are built (no file, no download): a
green rounded square with a white clipboard and check mark."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw

SIZES = (192, 512)
GREEN, WHITE = (0, 104, 71, 255), (255, 255, 255, 255)


def draw(size: int, maskable: bool = False) -> bytes:
    """One PNG icon of `size` pixels (maskable: the mark inside the 80 % safe zone)."""
    image = Image.new("RGBA", (size, size), GREEN if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if not maskable:
        pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=GREEN)
    unit = size / 16 * (0.8 if maskable else 1)
    middle = size / 2

    def box(x0, y0, x1, y1):
        return (middle + x0 * unit, middle + y0 * unit, middle + x1 * unit, middle + y1 * unit)

    pen.rounded_rectangle(box(-4.5, -5, 4.5, 6), radius=int(unit), outline=WHITE,
                          width=max(2, int(unit * 0.9)))
    pen.rectangle(box(-2, -6.2, 2, -4), fill=WHITE)
    pen.line([box(-2.5, 0.8, -0.6, 2.8)[:2], box(-0.6, 2.8, 3, -1.5)[:2],
              box(3, -1.5, 0, 0)[:2]], fill=WHITE, width=max(2, int(unit * 1.1)), joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def all_icons() -> dict[str, bytes]:
    """Every icon by its file name."""
    icons = {f"icon-{size}.png": draw(size) for size in SIZES}
    icons["maskable-512.png"] = draw(512, maskable=True)
    return icons
