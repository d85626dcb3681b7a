"""The nightly inventory: one report per night with its low-stock list, use against recipes, released
reservations and retired coupons; mailed to managers once; caught up after a missed night; by hand."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from menu.models import Ingredient, MovementKind, RecipeLine, StockMovement
from orders.coupons.models import Coupon
from orders.inventory.services import inventory_night_build, inventory_nightly_run
from orders.models import InventoryReport, OrderStatus
from orders.pricing import CartLine
from orders.services import order_transition
from restaurant.celery import app
from restaurant.errors import ApplicationError
from tests.concurrency import run_simultaneously
from tests.conftest import client_for
from tests.factories import IngredientFactory, UserFactory
from tests.orders.inventory_flows import TILL, a_busy_night, after, cook, place, tonight

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Runs what a call queued after commit (the managers' email), as a real transaction would."""

    def run(call, *args, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def reports_mailed() -> list[mail.EmailMessage]:
    # The night's orders send their own emails when their events are published with the build's.
    return [message for message in mail.outbox if "inventory for" in message.subject]


def ledger() -> list[tuple[int, str, Decimal, Decimal]]:
    return list(
        StockMovement.objects.order_by("pk").values_list("pk", "kind", "on_hand_change", "reserved_change")
    )


# ---------------------------------------------------------------- what a report says


@pytest.mark.django_db
def test_the_report_lists_reorders_use_against_recipes_released_holds_and_retired_coupons(
    small_menu, pantry, actors, committed
):
    # Given a night: 2 burgers with cheese cooked, potatoes dropped, fries cancelled still holding stock,
    # a coupon past its end, and the burger's recipe changed since to 2 patties
    night = a_busy_night(small_menu, pantry)
    RecipeLine.objects.filter(item=small_menu.burger, ingredient=pantry.patty).update(quantity=2)

    # When the night's report is built at 02:00
    report, created = committed(inventory_night_build, night=tonight(), now=after(tonight()))

    # Then under the reorder point: patties, buns and potatoes, each with what brings it to par
    assert created
    assert report.low_stock == [
        {"ingredient": "Beef patty", "unit": "pc", "on_hand": "8", "reorder_point": "10",
         "par_level": "100", "to_order": "92"},
        {"ingredient": "Brioche bun", "unit": "pc", "on_hand": "8", "reorder_point": "10",
         "par_level": "100", "to_order": "92"},
        {"ingredient": "Cheddar slice", "unit": "pc", "on_hand": "3", "reorder_point": "10",
         "par_level": "100", "to_order": "97"},
        {"ingredient": "Potatoes", "unit": "g", "on_hand": "1900", "reorder_point": "4000",
         "par_level": "20000", "to_order": "18100"},
    ]  # fmt: skip
    # And use against recipes: the changed recipe predicts 4 patties where 2 were used
    assert report.variance == [
        {"ingredient": "Beef patty", "unit": "pc", "used": "2", "predicted": "4", "variance": "-2",
         "wasted": "0", "corrected": "0"},
        {"ingredient": "Brioche bun", "unit": "pc", "used": "2", "predicted": "2", "variance": "0",
         "wasted": "0", "corrected": "0"},
        {"ingredient": "Cheddar slice", "unit": "pc", "used": "2", "predicted": "2", "variance": "0",
         "wasted": "0", "corrected": "0"},
        {"ingredient": "Potatoes", "unit": "g", "used": "0", "predicted": "0", "variance": "0",
         "wasted": "100", "corrected": "0"},
    ]  # fmt: skip
    # And the cancelled order's hold is released, by the pantry's ledger
    assert report.released == [
        {"order_id": night.left_holding.pk, "status": "cancelled",
         "ingredients": [{"ingredient": "Potatoes", "unit": "g", "quantity": "200"}]},
    ]  # fmt: skip
    assert Ingredient.objects.get(pk=pantry.potatoes.pk).reserved == 0
    assert (
        StockMovement.objects.filter(order_id=night.left_holding.pk, kind=MovementKind.RELEASE).count() == 1
    )
    # And the expired coupon is off and listed
    night.expired.refresh_from_db()
    assert not night.expired.is_active
    assert [c["code"] for c in report.retired_coupons] == ["SUMMER"]
    # And the chart's 14 days end with the night, its use on the last day
    assert report.use_days[-1] == tonight().isoformat() and len(report.use_days) == 14
    assert {line["ingredient"]: line["used"][-1] for line in report.daily_use} == {
        "Beef patty": "2", "Brioche bun": "2", "Cheddar slice": "2",
    }  # fmt: skip
    assert all(used == "0" for line in report.daily_use for used in line["used"][:-1])

    # And the managers, only they, got one email saying it
    assert len(reports_mailed()) == 1
    message = reports_mailed()[0]
    assert message.to == [actors.manager.email]
    assert "2 to reorder" not in message.subject and "4 to reorder" in message.subject
    assert "Potatoes: order 18100 g" in message.body
    assert f"order #{night.left_holding.pk} (cancelled): 200 g Potatoes" in message.body
    assert "SUMMER" in message.body
    assert reverse("admin:orders_inventoryreport_change", args=[report.pk]) in message.body
    report.refresh_from_db()
    assert report.email_sent_at is not None and report.email_recipients == [actors.manager.email]


@pytest.mark.django_db
def test_a_refund_after_cooking_counts_neither_as_use_nor_as_predicted_on_its_night(
    small_menu, pantry, actors
):
    # Given an order cooked and refunded the same night
    order = cook(place(CartLine(small_menu.burger.pk, 1, (small_menu.medium.pk,))))
    order_transition(order=order, to_status=OrderStatus.REFUNDED, actor=TILL, reason="dropped")

    # When the night is reported
    report, _ = inventory_night_build(night=tonight(), now=after(tonight()))

    # Then what was cooked is waste, with no use and nothing predicted
    patty = next(line for line in report.variance if line["ingredient"] == "Beef patty")
    assert (patty["used"], patty["predicted"], patty["variance"], patty["wasted"]) == ("0", "0", "0", "1")


# ---------------------------------------------------------------- once per night


@pytest.mark.django_db
def test_a_second_run_the_same_night_changes_nothing(small_menu, pantry, actors, committed):
    # Given the night built and mailed at 02:00
    a_busy_night(small_menu, pantry)
    first = committed(inventory_nightly_run, now=after(tonight()))
    assert [report.night for report in first] == [tonight()]
    movements, coupons, report = ledger(), list(Coupon.objects.values()), InventoryReport.objects.get()

    # When the job runs again (a retry, a second beat), and again later that morning
    again = committed(inventory_nightly_run, now=after(tonight()))
    later = committed(inventory_nightly_run, now=after(tonight(), hour=9))

    # Then nothing is built, released, retired or mailed a second time
    assert again == [] and later == []
    assert ledger() == movements
    assert list(Coupon.objects.values()) == coupons
    assert list(InventoryReport.objects.values()) == [
        InventoryReport.objects.filter(pk=report.pk).values()[0]
    ]
    assert len(reports_mailed()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_builders_of_one_night_at_once_make_one_report(small_menu, pantry, actors):
    # Given a night to report, with a hold to release
    night = a_busy_night(small_menu, pantry)

    # When two runs build it at the same moment
    outcomes = run_simultaneously(
        lambda: inventory_night_build(night=tonight(), now=after(tonight())),
        lambda: inventory_night_build(night=tonight(), now=after(tonight())),
    )

    # Then one built it and the other got that report; the hold was released once
    assert sorted(created for _, created in outcomes) == [False, True]  # type: ignore[misc]
    assert InventoryReport.objects.count() == 1
    assert {report.pk for report, _ in outcomes} == {InventoryReport.objects.get().pk}  # type: ignore[misc]
    assert (
        StockMovement.objects.filter(order_id=night.left_holding.pk, kind=MovementKind.RELEASE).count() == 1
    )
    assert [m.to for m in reports_mailed()] == [[actors.manager.email]]


# ---------------------------------------------------------------- catching up


@pytest.mark.django_db
def test_a_missed_night_is_caught_up_by_the_next_run(small_menu, pantry, actors, committed):
    # Given reports up to three nights ago, and the job down since
    InventoryReport.objects.create(night=tonight() - timedelta(days=3), built_at=after(tonight()))
    a_busy_night(small_menu, pantry)

    # When it runs again at 02:00
    built = committed(inventory_nightly_run, now=after(tonight()))

    # Then every night since is built, oldest first, each mailed once; tonight's use is tonight's only,
    # and the hold left by an ended order is released by the newest
    assert [report.night for report in built] == [tonight() - timedelta(days=n) for n in (2, 1, 0)]
    assert [report.variance for report in built[:2]] == [[], []]
    assert [len(report.released) for report in built] == [0, 0, 1]
    assert len(reports_mailed()) == 3
    assert InventoryReport.objects.filter(email_sent_at__isnull=True).count() == 1  # the seeded one


@pytest.mark.django_db
def test_an_older_night_built_by_hand_leaves_holds_to_last_nights_report(small_menu, pantry, actors):
    night = a_busy_night(small_menu, pantry)

    report, _ = inventory_night_build(night=tonight() - timedelta(days=1), now=after(tonight()))

    assert report.released == []
    assert (
        StockMovement.objects.filter(order_id=night.left_holding.pk, kind=MovementKind.RELEASE).count() == 0
    )


@pytest.mark.django_db
def test_catching_up_is_bounded_to_the_newest_nights(small_menu, actors, settings):
    settings.INVENTORY_CATCH_UP_NIGHTS = 2
    InventoryReport.objects.create(night=tonight() - timedelta(days=30), built_at=after(tonight()))

    built = inventory_nightly_run(now=after(tonight()))

    assert [report.night for report in built] == [tonight() - timedelta(days=1), tonight()]


@pytest.mark.django_db
def test_the_first_run_reports_last_night_only(small_menu, actors):
    built = inventory_nightly_run(now=after(tonight()))

    assert [report.night for report in built] == [tonight()]


@pytest.mark.django_db
def test_a_night_not_over_cannot_be_built(small_menu):
    with pytest.raises(ApplicationError) as refused:
        inventory_night_build(night=tonight(), now=after(tonight() - timedelta(days=1), hour=23))

    assert refused.value.code == "night_not_over"
    assert not InventoryReport.objects.exists()


@pytest.mark.django_db
def test_a_report_whose_email_was_never_queued_is_mailed_by_the_next_run(small_menu, actors, committed):
    # Given last night's report built while the broker was down: its email never left
    InventoryReport.objects.create(night=tonight(), built_at=after(tonight()))

    # When the job runs again later that morning
    built = committed(inventory_nightly_run, now=after(tonight(), hour=9))

    # Then nothing is built and the report is mailed, once
    assert built == []
    assert [m.to for m in mail.outbox] == [[actors.manager.email]]
    committed(inventory_nightly_run, now=after(tonight(), hour=10))
    assert len(mail.outbox) == 1


# ---------------------------------------------------------------- by hand


@pytest.mark.django_db
def test_the_command_builds_a_given_night_once(small_menu, actors, capsys, committed):
    yesterday = (tonight() - timedelta(days=1)).isoformat()

    committed(call_command, "inventory_nightly", "--date", yesterday)
    committed(call_command, "inventory_nightly", "--date", yesterday)

    out = capsys.readouterr().out
    assert f"Built the report for {yesterday}." in out
    assert f"The report for {yesterday} was built already; left as it is." in out
    assert list(InventoryReport.objects.values_list("night", flat=True)) == [tonight() - timedelta(days=1)]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_command_without_a_date_runs_every_night_due(small_menu, actors, capsys):
    InventoryReport.objects.create(night=tonight() - timedelta(days=3), built_at=after(tonight()))

    call_command("inventory_nightly")
    call_command("inventory_nightly")

    out = capsys.readouterr().out
    assert out.count("Built the report for") == 2
    assert "No night due" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-13-01", "--date must be a date as YYYY-MM-DD"),
        ("yesterday", "--date must be a date as YYYY-MM-DD"),
        ("9999-12-31", "is not over yet"),
    ],
)
def test_the_command_refuses_a_date_it_cannot_report(small_menu, value, error):
    with pytest.raises(CommandError, match=error):
        call_command("inventory_nightly", "--date", value)
    assert not InventoryReport.objects.exists()


@pytest.mark.django_db
def test_the_command_refuses_tonight_while_it_lasts(small_menu):
    with pytest.raises(CommandError, match="is not over yet"):
        call_command("inventory_nightly", "--date", tonight().isoformat())


# ---------------------------------------------------------------- in admin


@pytest.mark.django_db
def test_managers_read_the_report_in_admin_with_a_chart_and_cannot_change_it(small_menu, pantry, actors):
    IngredientFactory(name="<b>Saffron</b>")
    a_busy_night(small_menu, pantry)
    report, _ = inventory_night_build(night=tonight(), now=after(tonight()))
    manager = client_for(actors.manager)

    listing = manager.get(reverse("admin:orders_inventoryreport_changelist"))
    page = manager.get(reverse("admin:orders_inventoryreport_change", args=[report.pk]))

    assert listing.status_code == 200 and str(report.night.year) in listing.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    # The chart is drawn on the server: one SVG row per ingredient used, one bar per day
    assert html.count('role="img"') == 3
    assert html.count("<rect ") == 3 * 14
    assert f"{tonight():%a %d %b}: 2 pc" in html
    assert "<script src=" not in html.split('id="content"')[1]
    assert "18100 g" in html and "SUMMER" in html and f"#{report.released[0]['order_id']}" in html
    assert "&lt;b&gt;Saffron&lt;/b&gt;" in html and "<b>Saffron</b>" not in html
    assert 'name="_save"' not in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert manager.get(reverse("admin:orders_inventoryreport_add")).status_code == 403
    assert manager.post(reverse("admin:orders_inventoryreport_delete", args=[report.pk])).status_code == 403
    assert InventoryReport.objects.filter(pk=report.pk).exists()


@pytest.mark.django_db
def test_only_managers_see_the_reports(small_menu, actors):
    report, _ = inventory_night_build(night=tonight() - timedelta(days=1))
    url = reverse("admin:orders_inventoryreport_change", args=[report.pk])

    for user in (actors.chef, actors.waiter, actors.customer):
        assert client_for(user).get(url).status_code in (302, 403)


@pytest.mark.django_db
def test_without_a_manager_the_report_is_kept_and_marked_mailed_to_nobody(small_menu, committed):
    UserFactory(role="chef")

    report, _ = committed(inventory_night_build, night=tonight() - timedelta(days=1))

    report.refresh_from_db()
    assert mail.outbox == []
    assert report.email_sent_at is not None and report.email_recipients == []


# ---------------------------------------------------------------- the schedule


def _next_runs(schedule: crontab, zone: ZoneInfo, first: datetime, count: int) -> list[datetime]:
    """When beat would run the entry after each run, starting from `first`: as beat's own arithmetic says."""
    runs, last = [], first.astimezone(UTC)
    for _ in range(count):
        probe = copy.copy(schedule)
        probe.nowfun = lambda at=last: at + timedelta(seconds=1)  # type: ignore[misc]
        # In UTC: aware arithmetic in a zone adds to the wall clock, not to elapsed time.
        last = last + timedelta(seconds=1) + probe.remaining_estimate(last)
        runs.append(last.astimezone(zone))
    return runs


def _clock_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """The days the zone's clocks change in the year (their noon), found from the offsets."""
    days = [datetime(year, 1, 1, 12, tzinfo=zone) + timedelta(days=n) for n in range(365)]
    return [
        today for yesterday, today in itertools.pairwise(days) if today.utcoffset() != yesterday.utcoffset()
    ]


def test_the_nightly_entry_runs_at_two_in_the_restaurants_time_zone_in_winter_and_summer():
    # Given the production schedule (no test interval set)
    entry = settings.CELERY_BEAT_SCHEDULE["inventory-nightly"]
    schedule = entry["schedule"]
    zone = ZoneInfo(settings.TIME_ZONE)
    assert entry["task"] == "orders.inventory_tasks.inventory_nightly"
    assert isinstance(schedule, crontab)
    assert (schedule.hour, schedule.minute) == ({2}, {0})
    assert app.conf.timezone == settings.TIME_ZONE and app.timezone == zone
    changes = _clock_changes(zone, 2027)
    if not changes:
        pytest.skip(f"{settings.TIME_ZONE} does not change its clocks")

    for change in changes:
        # When beat runs it from two nights before the clocks change to two nights after
        start = datetime.combine(change.date() - timedelta(days=2), time(2), tzinfo=zone)
        runs = _next_runs(schedule, zone, start, 4)

        # Then every run is at 02:00 local, one a night, though the night it changes is an hour
        # shorter or longer
        assert [(run.date(), run.time()) for run in runs] == [
            (start.date() + timedelta(days=n), time(2)) for n in (1, 2, 3, 4)
        ]
        lengths = {runs[n + 1].astimezone(UTC) - runs[n].astimezone(UTC) for n in range(3)}
        assert lengths - {timedelta(hours=24)} <= {timedelta(hours=23), timedelta(hours=25)}
        assert len(lengths) == 2, runs
