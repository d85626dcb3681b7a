"""Input serializers that refuse what they do not define, as restaurant.forms.StrictForm does for pages."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from restaurant.forms import DATABASE_ID_MAX, VERSION_MAX


class StrictInput(serializers.Serializer[Any]):
    """An API input: a field it does not define ("price", "total") is a 400 naming it, never ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unexpected = sorted(str(name)[:40] for name in data if name not in self.fields)
            if unexpected:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted here."] for name in unexpected[:5]},
                    code="unexpected_field",
                )
        return super().to_internal_value(data)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A database id: beyond 2^63 - 1 it could never exist (and SQLite would overflow)."""
    return serializers.IntegerField(min_value=1, max_value=DATABASE_ID_MAX, **kwargs)


def version_field(**kwargs: Any) -> serializers.IntegerField:
    """The version the client saw, for optimistic locking."""
    return serializers.IntegerField(min_value=1, max_value=VERSION_MAX, **kwargs)
