"""Customers ordering through the real pages, as a browser does, from threads of the test process.

Each customer walks menu -> item -> add to cart -> cart -> checkout -> the
sandbox's payment page -> approve -> the order page, with its own cookies,
over and over until told to stop. Every answer is recorded by step, so a
test can say "no 5xx" and know which orders were accepted (checkout sent
the customer to pay) and paid (the sandbox took the approval).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

import requests

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ITEM_FIELD = re.compile(r'name="item" value="(\d+)"')
TOKEN_FIELD = re.compile(r'name="checkout_token" value="([0-9a-f]+)"')
SANDBOX_PATH = re.compile(r"/sandbox/pay/([^/]+)/$")
ORDER_PATH = re.compile(r"/orders/([^/]+)/$")
TIMEOUT = 30


class StepFailed(Exception):
    """An answer that ends this customer's round (a 4xx/5xx, or a page without its form)."""


@dataclass
class Answer:
    step: str
    status: int
    body: str
    retry_after: str | None


@dataclass
class Visits:
    """What every customer saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[Answer] = field(default_factory=list)
    # Checkouts that sent the customer to pay: sandbox payment reference -> order tracking token (once paid).
    accepted: dict[str, str | None] = field(default_factory=dict)
    paid: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def record(self, step: str, response: requests.Response) -> None:
        with self.lock:
            body = response.text[:300] if response.status_code >= 400 else ""
            retry_after = response.headers.get("Retry-After")
            self.answers.append(Answer(step, response.status_code, body, retry_after))

    def statuses(self) -> Counter[tuple[str, int]]:
        with self.lock:
            return Counter((a.step, a.status) for a in self.answers)

    def server_errors(self, *, allowed: frozenset[int] = frozenset()) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.status >= 500 and a.status not in allowed]

    def with_status(self, status: int) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.status == status]


class Customer:
    def __init__(self, base_url: str, item_slug: str, visits: Visits, *, pay: bool, order_url: str = ""):
        self.base = base_url
        # Order pages may be served by another instance (daphne); cookies are per host, both are 127.0.0.1.
        self.order_base = order_url or base_url
        self.item_slug = item_slug
        self.visits = visits
        self.pay = pay
        self.http = requests.Session()

    def _get(self, step: str, path: str, base: str | None = None) -> requests.Response:
        response = self.http.get((base or self.base) + path, timeout=TIMEOUT, allow_redirects=False)
        self.visits.record(step, response)
        if response.status_code != 200:
            raise StepFailed(f"{step}: {response.status_code}")
        return response

    def _post(self, step: str, path: str, data: dict[str, object]) -> requests.Response:
        response = self.http.post(self.base + path, data=data, timeout=TIMEOUT, allow_redirects=False)
        self.visits.record(step, response)
        if response.status_code != 302:
            raise StepFailed(f"{step}: {response.status_code}")
        return response

    @staticmethod
    def _field(pattern: re.Pattern[str], page: requests.Response, step: str) -> str:
        found = pattern.search(page.text)
        if found is None:
            raise StepFailed(f"{step}: the page has no {pattern.pattern}")
        return found.group(1)

    def one_round(self) -> None:
        self._get("menu", "/menu/")
        item_page = self._get("item", f"/menu/{self.item_slug}/")
        csrf = self._field(CSRF_FIELD, item_page, "item")
        item_id = self._field(ITEM_FIELD, item_page, "item")
        self._post("cart_add", "/cart/add/", {"csrfmiddlewaretoken": csrf, "item": item_id, "quantity": 1})
        self._get("cart", "/cart/")
        checkout_page = self._get("checkout", "/checkout/")
        token = self._field(TOKEN_FIELD, checkout_page, "checkout")
        csrf = self._field(CSRF_FIELD, checkout_page, "checkout")
        placed = self._post(
            "checkout_post",
            "/checkout/",
            {
                "csrfmiddlewaretoken": csrf,
                "checkout_token": token,
                "order_type": "pickup",
                "contact_name": "Rush Guest",
                "contact_email": "rush@example.test",
                "contact_phone": "",
                "table_number": "",
                "delivery_address": "",
                "special_instructions": "",
            },
        )
        found = SANDBOX_PATH.search(placed.headers.get("Location", ""))
        if found is None:
            raise StepFailed(f"checkout_post: sent to {placed.headers.get('Location')!r}, not to pay")
        reference = found.group(1)
        with self.visits.lock:
            self.visits.accepted[reference] = None
        if not self.pay:
            return
        pay_page = self._get("sandbox", f"/sandbox/pay/{reference}/")
        csrf = self._field(CSRF_FIELD, pay_page, "sandbox")
        approved = self._post(
            "sandbox_post", f"/sandbox/pay/{reference}/", {"csrfmiddlewaretoken": csrf, "outcome": "approve"}
        )
        order_path = approved.headers.get("Location", "")
        tracking = ORDER_PATH.search(order_path)
        with self.visits.lock:
            self.visits.paid.add(reference)
            self.visits.accepted[reference] = tracking.group(1) if tracking else None
        self._get("order", order_path, base=self.order_base)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.one_round()
            except StepFailed:
                stop.wait(0.2)  # a refused step (a 503 while the database restarts): try again shortly
            except requests.RequestException as error:
                with self.visits.lock:
                    self.visits.errors.append(f"{type(error).__name__}: {error}")
                stop.wait(0.2)


def customers_running(customers: list[Customer], stop: threading.Event) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=c.run, args=(stop,), name=f"customer-{i}", daemon=True)
        for i, c in enumerate(customers)
    ]
    for thread in threads:
        thread.start()
    return threads
