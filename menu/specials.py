"""Whether this request may see and order the VIP specials: the waffle flag "vip_specials".

Managers switch the flag in admin (README "VIP specials"): for no one, for
the VIP group (fed by User.is_vip, accounts.vip), for a percentage of
visitors, or for everyone. In percentage mode the visitor's draw is made
when they look at the menu and kept in waffle's cookie (sticky); a cart or
checkout request never draws (`draw=False`): without a draw in its cookie
it gets no specials, so a crafted POST cannot try its luck.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

from menu.cache import MenuSnapshot
from menu.flags import VIP_SPECIALS_FLAG
from menu.selectors import menu_current
from restaurant.cache_versions import CACHE_ERRORS

logger = logging.getLogger(__name__)


def specials_active(request: HttpRequest, *, draw: bool = True, menu: MenuSnapshot | None = None) -> bool:
    """True where the flag is on for this request; False when it cannot be read (cache down).

    The flag comes with the menu snapshot (`menu`, or the current one), as
    waffle's Flag.get would give it, so a page asks the cache once, for the
    menu version, not again for the flag.
    """
    flag = (menu or menu_current()).vip_flag
    try:
        return bool(flag.is_active(request, read_only=not draw))
    except CACHE_ERRORS:
        # Waffle reads flags through the cache. Unknown means no specials:
        # never shown or sold to someone the flag may be off for.
        logger.warning("flag %s unreadable: cache unreachable", VIP_SPECIALS_FLAG, exc_info=True)
        return False
