"""Prints where the running demo lives and how to sign in (used by `make run`)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from menu.management.commands.seed_demo import DEMO_USERS


class Command(BaseCommand):
    help = "Print the demo restaurant's URLs and demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: object, host: str, port: str, **options: object) -> None:
        base = f"http://{host}:{port}"
        lines = [
            "",
            f"  {settings.BRIGADE_RESTAURANT_NAME} is starting at {base}/",
            "",
            f"  Menu      {base}/",
            f"  Cart      {base}/cart/",
            f"  Kitchen   {base}/kitchen/",
            f"  Admin     {base}/{settings.ADMIN_PATH}",
            # A URL name, not an import: the tables are orders', and menu never imports orders.
            f"  QR codes  {base}{reverse('admin:orders_table_qr_sheet')}  (scan one to order at that table)",
            f"  Health    {base}/healthz  {base}/readyz",
            "",
            "  Demo logins (email / password):",
            *(f"    {user['role']:<9} {user['email']:<28} {user['password']}" for user in DEMO_USERS),
            "",
            *self._second_factor_lines(base),
            "",
            "  Stop with Ctrl-C.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _second_factor_lines(self, base: str) -> list[str]:
        setup = base + reverse("mfa_index")
        if settings.STAFF_MFA_REQUIRED:
            return [
                "  Admin needs a second factor (STAFF_MFA_REQUIRED is on): the manager",
                f"  is asked to set up an authenticator app on first visit ({setup}).",
            ]
        return [
            "  Second factor: NOT required here (STAFF_MFA_REQUIRED is off, as in",
            "  development), so the demo manager enters admin with the password alone.",
            f"  Production requires one for admin; anyone may set one up at {setup}.",
        ]
