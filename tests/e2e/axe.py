"""axe-core in a real browser: pinned in tests/axe/package-lock.json, injected by Playwright.

Needs `npm` to install it: without npm the tests that use it are skipped
(failed when BRIGADE_REQUIRE_SERVICES is set). `npm ci` runs once when
node_modules is missing or does not match the lockfile, as for tests/oidc.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

from tests.harness.npm import installed_matches_lockfile, npm_ci
from tests.requirements import need

AXE_DIR = Path(__file__).resolve().parent.parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: the bar in docs/decisions.md. axe
# has no "wcag22a" tag: 2.2's new level-A criteria have no automated rule.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_script() -> str:
    """axe.min.js of the pinned version, installing it first if needed."""
    if not (installed_matches_lockfile(AXE_DIR, "axe-core") and AXE_SCRIPT.exists()):
        npm = shutil.which("npm")
        need(npm is not None, "needs npm to install axe-core (tests/axe)")
        assert npm is not None
        npm_ci(npm, AXE_DIR)
    return AXE_SCRIPT.read_text()


@dataclass(frozen=True)
class Allowed:
    """One rule not counted on one element, and why: never a whole rule, never a whole page."""

    rule: str
    target: str  # the CSS selector axe reports for the element, exactly
    reason: str


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def line(self, shown: int = 8) -> str:
        more = len(self.targets) - shown
        targets = [*self.targets[:shown], *([f"… and {more} more"] if more > 0 else [])]
        return f"{self.rule} ({self.impact}): {self.help}\n    " + "\n    ".join(targets)


def axe_violations(page: Page, script: str, allowed: tuple[Allowed, ...] = ()) -> list[Violation]:
    """Runs axe on the page as it is now; the violations left after `allowed`."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, so the page's own CSP (no inline
        # scripts) does not apply to it, as to a browser extension.
        page.evaluate(script)
    results = page.evaluate(
        """async (tags) => {
            const results = await window.axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return results.violations.map((v) => ({
                rule: v.id, impact: v.impact || "", help: v.help,
                targets: v.nodes.map((n) => n.target.map(String).join(" >>> ")),
            }));
        }""",
        WCAG_TAGS,
    )
    skip = {(a.rule, a.target) for a in allowed}
    found = []
    for result in results:
        targets = tuple(t for t in result["targets"] if (result["rule"], t) not in skip)
        if targets:
            found.append(Violation(result["rule"], result["impact"], result["help"], targets))
    return found
