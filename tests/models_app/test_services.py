"""Registry use cases: promotion, archiving, who may do them, and bootstrap's idempotence."""

from __future__ import annotations

from typing import Any

import pytest

from mlplatform.errors import ErrorCode, PlatformError
from models_app.bootstrap import run_bootstrap
from models_app.models import MLModel, ModelStatus, Stage
from models_app.selectors import resolve_ready_model
from models_app.services import archive_model, promote_model, register_trained_model
from models_app.training import train_demo


@pytest.fixture
def demo_v2(staff_principal: Any) -> MLModel:
    return register_trained_model(name="demo", trained=train_demo(), actor=staff_principal)


def test_registering_again_adds_the_next_version(demo_v2: MLModel) -> None:
    assert demo_v2.ref == "demo:2"
    assert demo_v2.status == ModelStatus.READY
    assert demo_v2.stage == Stage.NONE
    assert demo_v2.serving_runtime == "onnx"
    assert demo_v2.metrics["r2"] == pytest.approx(1.0)


def test_promote_to_production_demotes_the_old_one(demo_v2: MLModel, staff_principal: Any) -> None:
    promote_model(model=demo_v2, stage=Stage.PRODUCTION, actor=staff_principal)

    stages = dict(MLModel.objects.filter(name="demo").values_list("version", "stage"))
    assert stages == {1: Stage.NONE, 2: Stage.PRODUCTION}
    assert resolve_ready_model("demo").ref == "demo:2"


def test_archive_stops_serving(demo_v2: MLModel, staff_principal: Any) -> None:
    archive_model(model=demo_v2, actor=staff_principal)

    with pytest.raises(PlatformError) as caught:
        resolve_ready_model("demo:2")
    assert caught.value.code is ErrorCode.MODEL_NOT_READY


def test_archived_production_falls_back_to_newest_ready(staff_principal: Any) -> None:
    demo_v1 = MLModel.objects.get(name="demo", version=1)
    register_trained_model(name="demo", trained=train_demo(), actor=staff_principal)

    archive_model(model=demo_v1, actor=staff_principal)

    assert resolve_ready_model("demo").ref == "demo:2"


@pytest.mark.parametrize(
    ("_case", "actor_fixture", "code"),
    [
        ("anonymous", None, ErrorCode.UNAUTHENTICATED),
        ("user", "user_principal", ErrorCode.FORBIDDEN),
    ],
)
def test_only_staff_manage_models(
    _case: str, actor_fixture: str | None, code: ErrorCode, request: pytest.FixtureRequest, db: None
) -> None:
    actor = request.getfixturevalue(actor_fixture) if actor_fixture else None
    iris = MLModel.objects.get(name="iris", version=1)

    for action in (
        lambda: promote_model(model=iris, stage=Stage.STAGING, actor=actor),
        lambda: archive_model(model=iris, actor=actor),
        lambda: register_trained_model(name="iris", trained=train_demo(), actor=actor),
    ):
        with pytest.raises(PlatformError) as caught:
            action()
        assert caught.value.code is code
    iris.refresh_from_db()
    assert (iris.status, iris.stage) == (ModelStatus.READY, Stage.PRODUCTION)
    assert MLModel.objects.filter(name="iris").count() == 1


def test_unknown_stage_is_invalid(staff_principal: Any) -> None:
    iris = MLModel.objects.get(name="iris", version=1)

    with pytest.raises(PlatformError) as caught:
        promote_model(model=iris, stage="live", actor=staff_principal)
    assert caught.value.code is ErrorCode.INVALID_INPUT


def test_unready_version_cannot_go_to_production(staff_principal: Any) -> None:
    queued = MLModel.objects.create(
        name="iris", version=2, task="classification", framework="sklearn"
    )

    with pytest.raises(PlatformError) as caught:
        promote_model(model=queued, stage=Stage.PRODUCTION, actor=staff_principal)
    assert caught.value.code is ErrorCode.MODEL_NOT_READY


def test_bootstrap_is_idempotent(db: None) -> None:
    before = list(MLModel.objects.values_list("name", "version"))

    report = run_bootstrap()

    assert report.created == []
    assert sorted(report.existing) == ["demo", "diabetes", "imagenet", "iris", "sentiment"]
    assert list(MLModel.objects.values_list("name", "version")) == before


def test_bootstrapped_models_carry_their_schema_and_metrics(db: None) -> None:
    iris = MLModel.objects.get(name="iris", version=1)
    diabetes = MLModel.objects.get(name="diabetes", version=1)

    assert iris.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert iris.labels == ["setosa", "versicolor", "virginica"]
    assert iris.metrics["accuracy"] > 0.9
    assert diabetes.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert 0.3 < diabetes.metrics["r2"] < 0.7
    assert {m.stage for m in MLModel.objects.all()} == {Stage.PRODUCTION}
