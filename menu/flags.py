"""The waffle flags the menu reads, by name (created by menu's migrations)."""

# Shows the items marked "VIP special" and lets them be ordered (menu.specials).
VIP_SPECIALS_FLAG = "vip_specials"
