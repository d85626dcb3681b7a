from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from menu.selectors import menu_categories, menu_item_detail


@require_safe
def menu_index(request: HttpRequest) -> HttpResponse:
    return render(request, "menu/index.html", {"categories": menu_categories()})


@require_safe
def item_detail(request: HttpRequest, slug: str) -> HttpResponse:
    item = menu_item_detail(slug=slug)
    if item is None:
        raise Http404("No such item on the menu.")
    return render(request, "menu/item.html", {"item": item})
