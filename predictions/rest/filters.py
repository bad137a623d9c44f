"""Filters of the prediction list: model (name, name:version or id), protocol, cached, time."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.db.models import QuerySet

from mlplatform.ids import as_db_id, is_digits
from predictions.models import Prediction, Protocol


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 with any offset Python accepts, compared in UTC: PostgreSQL refuses offsets
    beyond +/-15:59 (found by schemathesis), and an instant near year 1 may not convert."""

    def filter(self, qs: QuerySet[Prediction], value: datetime | None) -> QuerySet[Prediction]:
        if value is None:
            return qs
        try:
            value = value.astimezone(UTC)
        except (OverflowError, ValueError):
            return qs.none()
        return super().filter(qs, value)


class PredictionFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(
        method="filter_model", help_text="A model name, `name:version`, or a model id."
    )
    protocol = django_filters.ChoiceFilter(choices=Protocol.choices)
    cached = django_filters.BooleanFilter()
    created_after = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Prediction
        fields = ("model", "protocol", "cached")

    def filter_model(
        self, queryset: QuerySet[Prediction], name: str, value: str
    ) -> QuerySet[Prediction]:
        if is_digits(value):
            model_id = as_db_id(value)
            return queryset.filter(model_id=model_id) if model_id else queryset.none()
        model_name, _, version = value.partition(":")
        rows = queryset.filter(model__name=model_name)
        if not version:
            return rows
        number = as_db_id(version)
        return rows.filter(model__version=number) if number else queryset.none()
