"""gunicorn's settings for the pages and the API, read by `gunicorn restaurant.wsgi` from this folder.

Sync workers, two per core unless WEB_CONCURRENCY says otherwise (the
variable gunicorn itself reads, as most hosts set it). A sync worker waits
idle for every query and every round trip to Redis; with one per core a
lunch rush left a tenth of the machine's CPU unused, with two per core
almost none, and the same rush placed 10-25 % more orders a second
(docs/BENCHMARKS.md, "Two sync workers a core").
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
