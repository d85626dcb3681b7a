"""Where migration 0009 finds the partner URL validator; the checks live in orders/partners/url_checks.py.

A landed migration is never edited, and it imports this path.
"""

from orders.partners.url_checks import validate_partner_url

__all__ = ["validate_partner_url"]
