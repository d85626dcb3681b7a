"""The door a table's QR code opens: the menu, with dine-in at that table chosen for checkout."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from orders.floor.links import session_table_remember, table_link_read
from orders.floor.selectors import table_for_link


@require_safe
def table_link(request: HttpRequest, token: str) -> HttpResponse:
    """Remembers the table in the session and opens the menu.

    A link we did not sign (edited, cut short) is a 404, as a page that does
    not exist. A signed link whose table was retired, or whose code was
    replaced, is a 410 Gone: the code on that table is not in use any more.
    """
    link = table_link_read(token)
    if link is None:
        return render(request, "orders/table_link_refused.html", {"gone": False}, status=404)
    table = table_for_link(link=link)
    if table is None:
        return render(request, "orders/table_link_refused.html", {"gone": True}, status=410)
    session_table_remember(request.session, table)
    messages.success(request, f"Welcome to {table}. Your order at checkout is for this table.")
    return redirect("menu:index")
