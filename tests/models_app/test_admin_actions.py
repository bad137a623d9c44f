"""Admin actions through Django's test client: retrain queues a job from the version's recipe."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from models_app.models import JobStatus, MLModel, TrainingJob

CHANGELIST = "/admin/models_app/mlmodel/"


@pytest.fixture
def admin_client_logged_in(staff: Any) -> Client:
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


def test_retrain_queues_a_job_with_the_recipe(
    admin_client_logged_in: Client, django_capture_on_commit_callbacks: Any
) -> None:
    diabetes = MLModel.objects.get(name="diabetes", version=1)

    with django_capture_on_commit_callbacks() as dispatches:
        response = admin_client_logged_in.post(
            CHANGELIST,
            {
                "action": "retrain",
                "_selected_action": [diabetes.pk],
                "index": 0,
                "select_across": 0,
            },
            follow=True,
        )

    job = TrainingJob.objects.get(name="diabetes")
    assert (job.algorithm, job.dataset, job.status) == (
        "gradient_boosting",
        "diabetes",
        JobStatus.QUEUED,
    )
    assert job.params == {"n_estimators": 150, "max_depth": 2, "random_state": 42}
    assert len(dispatches) == 1
    assert f"Training job {job.pk} queued for diabetes." in response.content.decode()


def test_retrain_without_a_recipe_says_so(admin_client_logged_in: Client) -> None:
    demo = MLModel.objects.get(name="demo", version=1)

    response = admin_client_logged_in.post(
        CHANGELIST,
        {"action": "retrain", "_selected_action": [demo.pk], "index": 0, "select_across": 0},
        follow=True,
    )

    assert (
        "No training recipe for demo:1: it was not trained on a bundled data set"
        in response.content.decode()
    )
    assert not TrainingJob.objects.exists()


def test_version_page_shows_the_evaluation_plot(admin_client_logged_in: Client) -> None:
    iris = MLModel.objects.get(name="iris", version=1)

    page = admin_client_logged_in.get(f"{CHANGELIST}{iris.pk}/change/").content.decode()

    assert "<img alt='evaluation plot'" in page or '<img alt="evaluation plot"' in page
    assert "data:image/png;base64,iVBOR" in page
