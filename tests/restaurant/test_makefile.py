"""The Makefile promises no target it does not have."""

from __future__ import annotations

import re

from django.conf import settings


def test_every_phony_target_has_a_rule() -> None:
    # Given the Makefile's phony targets
    makefile = (settings.BASE_DIR / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    targets = phony.group(1).split()

    # Then each has a rule of its own
    ruled = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))
    assert targets and set(targets) <= ruled, sorted(set(targets) - ruled)
