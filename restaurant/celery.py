"""The Celery app. Its settings are the CELERY_* names in restaurant.settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restaurant.settings")

app = Celery("restaurant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Money tasks live apart from the rest, in each app's payment_tasks module.
app.autodiscover_tasks(related_name="payment_tasks")
