"""Read-only admin for recorded predictions: filter by model, protocol, cached and date."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from predictions.models import Prediction


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "model", "protocol", "user", "cached", "latency", "created_at")
    list_filter = ("protocol", "cached", "model__name", "created_at")
    search_fields = ("model__name", "request_id", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("model", "user")
    list_per_page = 100
    fields = (
        "model",
        "user",
        "protocol",
        "cached",
        "latency_ms",
        "request_id",
        "created_at",
        "inputs_json",
        "outputs_json",
    )
    readonly_fields = fields

    @admin.display(description="latency", ordering="latency_ms")
    def latency(self, obj: Prediction) -> str:
        return f"{obj.latency_ms:.2f} ms"

    @admin.display(description="inputs")
    def inputs_json(self, obj: Prediction) -> str:
        return _pretty(obj.inputs)

    @admin.display(description="outputs")
    def outputs_json(self, obj: Prediction) -> str:
        return _pretty(obj.outputs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _pretty(value: Any) -> str:
    return format_html("<pre style='margin:0'>{}</pre>", json.dumps(value, indent=2)[:5000])
