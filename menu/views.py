from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from menu.pages import item_page, menu_page


@require_safe
def menu_index(request: HttpRequest) -> HttpResponseBase:
    return menu_page(request)


@require_safe
def item_detail(request: HttpRequest, slug: str) -> HttpResponseBase:
    return item_page(request, slug=slug)
