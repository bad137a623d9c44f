"""The /live/ page in headless Chromium: predictions made over REST and GraphQL show up live."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from tests.conftest import ADMIN
from tests.pages.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CREATE_PREDICTION = """
mutation($input: JSONString!) {
  createPrediction(modelName: "sentiment", inputData: $input) { prediction { id } }
}"""


def feed_rows(page: Any, protocol: str) -> Any:
    return page.locator(f"#feed tbody tr[data-protocol='{protocol}']")


def chart_points(page: Any, protocol: str) -> int:
    count: int = page.evaluate(
        """(protocol) => {
            const chart = Chart.getChart("latency-chart");
            const ds = chart.data.datasets.find((d) => d.label === protocol);
            return ds ? ds.data.length : 0;
        }""",
        protocol,
    )
    return count


def test_live_page_shows_rest_and_graphql_predictions(
    page: Any, web_server: str, user_jwt: str
) -> None:
    marker = f"{uuid.uuid4().hex[:6]}"
    page.goto(f"{web_server}/live/")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("#login-form button[type=submit]")
    page.locator("#status", has_text="live").wait_for(timeout=15_000)
    rest_before = chart_points(page, "rest")

    for row in ([5.1, 3.5, 1.4, 0.2], [6.9, 3.1, 5.4, 2.1], [6.0, 2.9, 4.5, 1.5]):
        answer = requests.post(
            f"{web_server}/api/v1/models/iris/predict/",
            json={"X": [row]},
            headers={"Authorization": f"Bearer {user_jwt}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
    graphql = requests.post(
        f"{web_server}/graphql/",
        json={
            "query": CREATE_PREDICTION,
            "variables": {"input": json.dumps({"text": f"What a lovely day {marker}"})},
        },
        headers={"Authorization": f"JWT {user_jwt}"},
        timeout=10,
    )
    assert "errors" not in graphql.json(), graphql.text

    graphql_row = feed_rows(page, "graphql").filter(has_text=marker)
    graphql_row.wait_for(timeout=15_000)
    assert "Positive" in graphql_row.inner_text()
    assert "sentiment:" in graphql_row.inner_text()
    assert feed_rows(page, "rest").filter(has_text="virginica").count() >= 1
    page.wait_for_function(
        "() => document.querySelector('#by-protocol li[data-name=graphql]') !== null"
    )
    assert chart_points(page, "rest") >= rest_before + 3
    assert chart_points(page, "graphql") >= 1

    page.select_option("#predict-model", "iris")
    page.click("#predict-form button[type=submit]")
    page.locator("#predict-result", has_text='"prediction": "setosa"').wait_for(timeout=15_000)
    feed_rows(page, "websocket").first.wait_for(timeout=15_000)
    page.wait_for_timeout(1200)  # let the chart's one-second tick draw the newest points
    path = screenshot(page, "live")
    assert path.stat().st_size > 20_000


def test_live_page_uses_the_admin_session(page: Any, web_server: str) -> None:
    page.goto(f"{web_server}/admin/login/?next=/live/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("input[type=submit]")
    page.wait_for_url(f"{web_server}/live/")

    page.locator("#status", has_text="live").wait_for(timeout=15_000)
    assert page.locator("#login").is_hidden()


def test_live_page_refuses_a_plain_user(page: Any, web_server: str) -> None:
    page.goto(f"{web_server}/live/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-password")
    page.click("#login-form button[type=submit]")

    page.locator("#login-error", has_text="staff").wait_for(timeout=10_000)
    assert page.locator("#status").inner_text() == "signed out"
