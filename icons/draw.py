#!/usr/bin/env python3
"""Draws Storehand's app icons with Python's standard library only.

The mark is a white shopping bag with a tick on a teal rounded square. Run it from anywhere:
it rewrites the PNG sizes Tauri uses on Linux (`32x32.png`, `128x128.png`, `128x128@2x.png`,
`icon.png`) and a Windows `icon.ico` (PNG entries), next to this file. Every PNG is 8-bit RGBA,
which Tauri requires of its icons.
"""

import math
import struct
import zlib
from pathlib import Path

TEAL = (15, 118, 110)
WHITE = (255, 255, 255)
SUPERSAMPLE = 4


def rounded_rect(x, y, x0, y0, x1, y1, r):
    """True when (x, y) lies inside the rectangle with corners rounded to radius r."""
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def handle(x, y):
    """The bag's handle: the upper half of a ring."""
    d = math.hypot(x - 0.5, y - 0.36)
    return y <= 0.40 and 0.10 <= d <= 0.155


def tick(x, y):
    """A tick drawn as two thick strokes."""

    def near_segment(ax, ay, bx, by, width):
        vx, vy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)))
        return math.hypot(x - (ax + t * vx), y - (ay + t * vy)) <= width

    return near_segment(0.39, 0.60, 0.47, 0.68, 0.035) or near_segment(
        0.47, 0.68, 0.63, 0.51, 0.035
    )


def colour_at(x, y):
    """The RGBA colour of the point (x, y) of the unit square."""
    if not rounded_rect(x, y, 0.06, 0.06, 0.94, 0.94, 0.19):
        return (0, 0, 0, 0)
    in_bag = rounded_rect(x, y, 0.27, 0.37, 0.73, 0.80, 0.05)
    if in_bag and not tick(x, y):
        return WHITE + (255,)
    if handle(x, y):
        return WHITE + (255,)
    return TEAL + (255,)


def render(size):
    """Rows of RGBA bytes for a size x size icon, antialiased by supersampling."""
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray()
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(n):
                for sx in range(n):
                    c = colour_at((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    # Premultiply so that transparent samples do not darken the edge.
                    acc[0] += c[0] * c[3]
                    acc[1] += c[1] * c[3]
                    acc[2] += c[2] * c[3]
                    acc[3] += c[3]
            alpha = acc[3] / (n * n)
            if acc[3]:
                row += bytes(round(acc[i] / acc[3]) for i in range(3))
            else:
                row += b"\0\0\0"
            row.append(round(alpha))
        rows.append(bytes(row))
    return rows


def png(rows, size):
    """A PNG file (colour type 6, RGBA, 8 bits) of the given rows."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\0" + row for row in rows)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(images):
    """An ICO file whose entries are PNG images, as Windows Vista and later read them."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in images:
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def main():
    here = Path(__file__).resolve().parent
    pngs = {size: png(render(size), size) for size in (16, 32, 48, 128, 256, 512)}
    (here / "32x32.png").write_bytes(pngs[32])
    (here / "128x128.png").write_bytes(pngs[128])
    (here / "128x128@2x.png").write_bytes(pngs[256])
    (here / "icon.png").write_bytes(pngs[512])
    (here / "icon.ico").write_bytes(ico([(s, pngs[s]) for s in (16, 32, 48, 256)]))


if __name__ == "__main__":
    main()
