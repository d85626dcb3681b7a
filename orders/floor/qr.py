"""A table's QR code as inline SVG, drawn on the server.

The modules come from `qrcode` (already pinned: allauth's second factor draws
its setup code with it), so no second QR library; the SVG is written here
rather than by qrcode's SVG image classes, which emit one <rect> path per
module, sized in millimetres, with no accessible name.
"""

from __future__ import annotations

import qrcode
import qrcode.constants
from django.utils.html import format_html
from django.utils.safestring import SafeString

# The quiet zone the QR standard asks for around the code, in modules.
QUIET_ZONE = 4


def qr_svg(data: str, *, title: str) -> SafeString:
    """`data` as a scalable SVG QR code named `title` for screen readers (both escaped)."""
    # M (15% of the code may be lost): a sticker on a table gets scratched and splashed.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    rows: list[list[bool]] = code.get_matrix()
    size = len(rows)
    # One path segment per horizontal run of dark modules, not one square per module: a few kB a code.
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return format_html(
        '<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        'role="img" aria-label="{title}" shape-rendering="crispEdges">'
        '<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>',
        size=size,
        title=title,
        path="".join(runs),
    )
