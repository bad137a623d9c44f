"""The admin as a data scientist uses it, in headless Chromium against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from models_app.models import MLModel, Stage
from models_app.services import register_trained_model
from models_app.training import train_demo
from tests.conftest import ADMIN
from tests.pages.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def admin_page(page: Any, web_server: str) -> Any:
    page.goto(f"{web_server}/admin/login/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("input[type=submit]")
    page.wait_for_url(f"{web_server}/admin/")
    return page


@pytest.fixture
def two_versions(db_reader: None) -> Iterator[tuple[MLModel, MLModel]]:
    """'admin-demo' v1 (production) and v2, committed so the server sees them."""
    first = register_trained_model(
        name="admin-demo",
        trained=train_demo(),
        actor=None,
        stage=Stage.PRODUCTION,
        by_platform=True,
    )
    second = register_trained_model(
        name="admin-demo", trained=train_demo(), actor=None, by_platform=True
    )
    yield first, second
    MLModel.objects.filter(name="admin-demo").delete()


def test_model_list_shows_versions_and_metrics(admin_page: Any, web_server: str) -> None:
    admin_page.goto(f"{web_server}/admin/models_app/mlmodel/")

    rows = admin_page.locator("#result_list tbody tr")
    text = [row.strip() for row in rows.all_inner_texts()]
    screenshot(admin_page, "admin-model-list")
    assert rows.count() >= 3
    iris = next(row for row in text if row.startswith("iris"))
    assert "Classification" in iris
    assert "production" in iris
    assert "accuracy 0.9" in iris
    assert "CREATED" in admin_page.locator("#result_list thead").inner_text().upper()
    assert "onnx" in iris
    assert admin_page.locator("#changelist-filter").inner_text().count("By task") == 1


def test_search_and_filter(admin_page: Any, web_server: str) -> None:
    admin_page.goto(f"{web_server}/admin/models_app/mlmodel/?q=diab")
    assert admin_page.locator("#result_list tbody tr").count() == 1

    admin_page.goto(f"{web_server}/admin/models_app/mlmodel/?task__exact=regression")
    names = admin_page.locator("#result_list tbody tr th").all_inner_texts()
    assert {"demo", "diabetes"} <= set(names)
    assert "iris" not in names


def test_promote_action_moves_production(
    admin_page: Any, web_server: str, two_versions: tuple[MLModel, MLModel]
) -> None:
    first, second = two_versions
    admin_page.goto(f"{web_server}/admin/models_app/mlmodel/?q=admin-demo")

    admin_page.check(f"input[name=_selected_action][value='{second.pk}']")
    admin_page.select_option("select[name=action]", "promote_to_production")
    admin_page.click("button[name=index]")

    assert (
        "Promoted to production: admin-demo:2." in admin_page.locator(".messagelist").inner_text()
    )
    screenshot(admin_page, "admin-after-promote")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stage, second.stage) == (Stage.NONE, Stage.PRODUCTION)


def test_model_detail_shows_metrics_and_artifacts(
    admin_page: Any, web_server: str, db_reader: None
) -> None:
    iris = MLModel.objects.get(name="iris", version=1)

    admin_page.goto(f"{web_server}/admin/models_app/mlmodel/{iris.pk}/change/")

    content = admin_page.locator("#content").inner_text()
    screenshot(admin_page, "admin-model-detail")
    assert "accuracy" in content
    assert "f1_macro" in content
    assert "sepal_length, sepal_width, petal_length, petal_width" in content
    assert "models/iris/v1/model.skops" in content
    assert "models/iris/v1/model.onnx" in content
    assert admin_page.locator("img[alt='evaluation plot']").is_visible()


def test_predictions_list_is_read_only_and_filterable(admin_page: Any, web_server: str) -> None:
    admin_page.goto(f"{web_server}/admin/predictions/prediction/")

    assert admin_page.locator("#changelist-filter").is_visible()
    assert admin_page.locator("text=Add prediction").count() == 0
    filters = admin_page.locator("#changelist-filter").inner_text()
    assert "By protocol" in filters
    assert "By cached" in filters
