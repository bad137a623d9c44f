"""Query filters of the model list."""

from __future__ import annotations

import django_filters

from models_app.models import MLModel, ModelStatus, Stage, Task


class MLModelFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    task = django_filters.ChoiceFilter(choices=Task.choices)
    status = django_filters.ChoiceFilter(choices=ModelStatus.choices)
    stage = django_filters.ChoiceFilter(choices=Stage.choices)

    class Meta:
        model = MLModel
        fields = ("name", "task", "status", "stage")
