"""Draw the app icons of the installable web app (salesdesk/static/salesdesk/icons/).

    .venv/bin/python tools/pwa_icons.py

Pure Python (zlib), no imaging library: a dark tile with three rising bars. "any" icons have
rounded corners and a transparent surround; "maskable" ones fill the whole square and keep the
drawing inside the central safe zone (a circle of 40% of the size), as the platforms crop them.
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "salesdesk" / "static" / "salesdesk" / "icons"
TILE = (0x21, 0x25, 0x29)  # the navbar's dark grey (theme colour)
BARS = [(0x6E, 0xA8, 0xFE), (0x3D, 0x8B, 0xFD), (0x0D, 0x6E, 0xFD)]  # Bootstrap blues
SAMPLES = 4  # per axis: 16 samples a pixel smooth the edges


def _in_rounded_square(x: float, y: float, radius: float) -> bool:
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _colour(x: float, y: float, *, maskable: bool) -> tuple[int, int, int, int] | None:
    """The colour at (x, y) in the unit square, or None outside the icon."""
    if not maskable and not _in_rounded_square(x, y, 0.22):
        return None
    # The drawing sits in the middle 56% (maskable) or 64% (any) of the square.
    span = 0.56 if maskable else 0.64
    u, v = (x - 0.5) / span + 0.5, (y - 0.5) / span + 0.5
    heights = (0.45, 0.7, 1.0)
    width, gap = 0.26, 0.11
    for index, height in enumerate(heights):
        left = index * (width + gap)
        if left <= u <= left + width and 1 - height <= v <= 1:
            return (*BARS[index], 255)
    return (*TILE, 255)


def render(size: int, *, maskable: bool) -> bytes:
    rows = []
    step = 1 / (size * SAMPLES)
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            red = green = blue = alpha = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    colour = _colour(
                        (px * SAMPLES + sx + 0.5) * step,
                        (py * SAMPLES + sy + 0.5) * step,
                        maskable=maskable,
                    )
                    if colour:
                        red += colour[0]
                        green += colour[1]
                        blue += colour[2]
                        alpha += colour[3]
            count = SAMPLES * SAMPLES
            covered = alpha // 255
            if covered:
                row += bytes((red // covered, green // covered, blue // covered, alpha // count))
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return _png(size, b"".join(rows))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(size: int, raw: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(render(size, maskable=False))
        (OUT / f"maskable-{size}.png").write_bytes(render(size, maskable=True))
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(OUT.parents[3])}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
