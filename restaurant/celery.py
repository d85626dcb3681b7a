"""The Celery app. Its settings are the CELERY_* names in restaurant.settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restaurant.settings")

app = Celery("restaurant")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks module; the rooms inside orders (outbox, payments, partners)
# are imported by OrdersConfig.ready, so web processes know them too.
app.autodiscover_tasks()
