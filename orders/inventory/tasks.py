"""The nightly inventory's Celery tasks: thin doors; names pinned in tests/orders/test_task_names.py."""

from __future__ import annotations

from orders.outbox.dead_letters import reliable_task


@reliable_task(name="orders.inventory_tasks.inventory_nightly")
def inventory_nightly() -> list[str]:
    """Beat sends it at 02:00; returns the nights it built (none when they were built already)."""
    from orders.inventory.services import inventory_nightly_run

    return [report.night.isoformat() for report in inventory_nightly_run()]


@reliable_task(name="orders.inventory_tasks.send_inventory_report")
def send_inventory_report(report_id: int) -> bool:
    from orders.inventory.services import ReportEmailClaimed, inventory_report_email_send

    try:
        return inventory_report_email_send(report_id=report_id)
    except ReportEmailClaimed as claimed:
        # Another worker is sending it, or died doing so: look again once its claim could have expired.
        raise send_inventory_report.retry(exc=claimed, countdown=claimed.retry_in) from claimed
