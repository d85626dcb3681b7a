"""The product's settings with the API benchmark's URLconf: the bare DRF view exists only here."""

from restaurant.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
