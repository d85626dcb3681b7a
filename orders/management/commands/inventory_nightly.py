"""Runs the nightly inventory by hand, as beat does at 02:00. Safe to run again: a night is built once.

    python manage.py inventory_nightly                    # every night due since the last report
    python manage.py inventory_nightly --date 2026-12-01  # that night only

The managers' email is queued as beat's run queues it (sent by a worker, or
at once in the embedded mode without a broker).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.inventory.services import inventory_night_build, inventory_nightly_run
from restaurant.errors import ApplicationError


def _night(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Builds the nightly inventory report (and mails it to managers): every night due, or --date's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", help="the night to report, YYYY-MM-DD (restaurant time); it must be over"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("date") is None:
            built = inventory_nightly_run()
            if not built:
                self.stdout.write("No night due: every night up to yesterday has its report.")
            for report in built:
                self.stdout.write(f"Built the report for {report.night.isoformat()}.")
            return
        night = _night(options["date"])
        try:
            report, created = inventory_night_build(night=night)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if created:
            self.stdout.write(f"Built the report for {night.isoformat()}.")
        else:
            self.stdout.write(f"The report for {night.isoformat()} was built already; left as it is.")
