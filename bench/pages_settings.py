"""The product's settings with the benchmark's URLconf: the bare view exists only here."""

from restaurant.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
