"""The rooms of orders stay apart: no import circle, the outbox knows no consumer, apps stay layered."""

from __future__ import annotations

import ast
from pathlib import Path

from kitchen import events as kitchen_events
from orders import subscribers
from orders.floor import events as floor_events
from orders.outbox.services import RecorderFallback, outbox_consumers

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "menu", "orders", "kitchen")  # each may import only those before it


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _modules(app: str) -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and "tests" not in path.parts
    }


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _runtime_imports(path: Path) -> set[str]:
    """Like _imports, without what only type checkers read."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    return cycles


def test_no_module_of_orders_imports_one_that_imports_it_back():
    # Given every import among orders' modules, those inside functions included
    modules = _modules("orders")
    graph = {name: {imported for imported in _imports(path) if imported in modules} - {name}
             for name, path in modules.items()}  # fmt: skip

    # Then they form no circle: tasks name the services they call, services name their tasks by name
    assert _cycles(graph) == []


def test_the_outbox_imports_nothing_of_orders_outside_itself():
    for name, path in _modules("orders").items():
        if not name.startswith("orders.outbox"):
            continue
        outside = {
            m for m in _runtime_imports(path) if m.startswith("orders.") and not m.startswith("orders.outbox")
        }
        assert outside == set(), f"{name} imports {sorted(outside)}"


def test_apps_import_only_the_apps_below_them():
    for position, app in enumerate(APPS):
        above = APPS[position + 1 :]
        for name, path in _modules(app).items():
            wrong = {m for m in _imports(path) if m.split(".")[0] in above}
            assert wrong == set(), f"{name} imports {sorted(wrong)}"


def test_a_paid_order_is_heard_by_the_live_page_first_and_by_the_kitchen_after_orders():
    # Given the consumers every app subscribed from its AppConfig.ready
    consumers = outbox_consumers("order.paid")

    # Then the live page hears first, then orders' emails, partners and the floor, then the kitchen
    assert consumers == (
        subscribers.live_broadcast,
        subscribers.confirmation_email_enqueue,
        subscribers.partner_deliveries_enqueue,
        RecorderFallback(recorder=floor_events.floor_with_order_event, fallback=floor_events.on_order_event),
        RecorderFallback(recorder=kitchen_events.tickets_with_payment, fallback=kitchen_events.on_order_paid),
    )
