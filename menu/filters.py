"""The menu's filters: dishes with every dietary tag asked for, and none of the allergens left out.

`?diet=vegan&diet=gluten-free&free_of=nuts` — repeatable, any order, by the
codes of the dietary tags and allergens (admin). The filter is data of the
menu only, never of the visitor, so the filtered page may be told apart from
the whole one by its canonical form alone (menu.pages puts it in the ETag).

Decided (docs/decisions.md, "Customers' side"): a value that is no tag's or
allergen's code is a 400 naming it (a link that cannot mean what it says is
better refused than silently showing everything); a parameter the filter does
not know (`utm_source`, a typo of the name) is ignored, as links from
elsewhere carry such things.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.http import QueryDict

from menu.cache import CategoryView, ItemView, MenuSnapshot
from restaurant.errors import ApplicationError

DIET_PARAM = "diet"
FREE_OF_PARAM = "free_of"
# More values than there are tags and allergens on any menu is not a person choosing.
MAX_VALUES = 40
# How much of a refused value the message repeats.
SHOWN_CHARACTERS = 40


class InvalidMenuFilter(ApplicationError):
    default_code = "invalid_filter"


@dataclass(frozen=True)
class MenuFilter:
    # Codes, sorted and without repeats: one filter has one form.
    diet: tuple[str, ...] = ()
    free_of: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.diet or self.free_of)

    def key(self) -> str:
        """The filter's canonical form, for the page's ETag: nothing but codes of the menu."""
        return f"diet={','.join(self.diet)};free_of={','.join(self.free_of)}"

    def keeps(self, item: ItemView) -> bool:
        return set(self.diet) <= item.dietary_codes and not item.allergen_codes.intersection(self.free_of)


NO_FILTER = MenuFilter()


def _codes(values: Sequence[str], known: dict[str, str], what: str) -> tuple[str, ...]:
    chosen = set()
    for value in values:
        code = value.strip()
        if code not in known:
            shown = code[:SHOWN_CHARACTERS] + ("…" if len(code) > SHOWN_CHARACTERS else "")
            raise InvalidMenuFilter(
                f"There is no {what} “{shown}” to filter by. Choose from the list.",
                data={"param": what},
            )
        chosen.add(code)
    return tuple(sorted(chosen))


def menu_filter_from(query: QueryDict, snapshot: MenuSnapshot) -> MenuFilter:
    """The filter a menu request asks for, or InvalidMenuFilter (400) for a value no code has."""
    diet_values, free_of_values = query.getlist(DIET_PARAM), query.getlist(FREE_OF_PARAM)
    if len(diet_values) + len(free_of_values) > MAX_VALUES:
        raise InvalidMenuFilter("Too many filters at once. Choose from the list.")
    return MenuFilter(
        diet=_codes(diet_values, dict(snapshot.dietary_choices), "dietary tag"),
        free_of=_codes(free_of_values, dict(snapshot.allergen_choices), "allergen"),
    )


def categories_filtered(
    categories: Sequence[CategoryView], menu_filter: MenuFilter
) -> tuple[CategoryView, ...]:
    """The categories with only the dishes the filter keeps; a category left empty is left out."""
    kept = []
    for category in categories:
        items = tuple(item for item in category.items if menu_filter.keeps(item))
        if items:
            kept.append(CategoryView(category.slug, category.name, category.description, items))
    return tuple(kept)
