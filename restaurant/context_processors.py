from django.conf import settings
from django.http import HttpRequest


def brigade(request: HttpRequest) -> dict[str, object]:
    return {
        "restaurant_name": settings.BRIGADE_RESTAURANT_NAME,
        "currency": settings.BRIGADE_CURRENCY,
    }
