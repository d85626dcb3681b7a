"""The suite's small npm projects (tests/oidc, tests/axe), installed from their lockfiles on demand."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.requirements import need

NPM_CI_TIMEOUT = 180


def installed_matches_lockfile(folder: Path, package: str) -> bool:
    lock = json.loads((folder / "package-lock.json").read_text())
    wanted = lock["packages"][f"node_modules/{package}"]["version"]
    installed = folder / "node_modules" / package / "package.json"
    return installed.exists() and json.loads(installed.read_text())["version"] == wanted


def npm_ci(npm: str, folder: Path) -> None:
    """`npm ci` in the folder: skipped (failed under BRIGADE_REQUIRE_SERVICES) if it cannot finish."""
    name = f"tests/{folder.name}"
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        need(False, f"`npm ci` in {name} took over {NPM_CI_TIMEOUT} s")
        raise
    need(
        result.returncode == 0,
        f"`npm ci` in {name} failed ({result.returncode}): {result.stderr.strip()[-500:]}",
    )
