"""Swagger UI as an API user meets it: authorise with a token, try the predict route, see 200."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PREDICT = "/api/v1/models/{ref}/predict/"


def test_try_it_out_predict(page: Any, web_server: str, user_jwt: str) -> None:
    page.goto(f"{web_server}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)

    page.click("button.authorize")
    jwt_scheme = page.locator(".modal-ux .auth-container", has_text="jwtAuth")
    jwt_scheme.locator("input").fill(user_jwt)
    jwt_scheme.locator("button.authorize").click()
    page.click(".modal-ux button.btn-done")

    operation = page.locator(f".opblock-post:has(.opblock-summary-path[data-path='{PREDICT}'])")
    operation.locator(".opblock-summary").click()
    try_out = operation.locator("button.try-out__btn")
    if try_out.inner_text().strip() == "Try it out":  # already open when tryItOutEnabled is set
        try_out.click()
    operation.locator("input[placeholder='ref']").fill("iris")
    operation.locator("button.execute").click()

    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    body_text = operation.locator(
        ".live-responses-table .response-col_description pre"
    ).first.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    operation.screenshot(path=str(SCREENSHOTS / "swagger-try-it-out.png"))
    assert status.inner_text().strip().startswith("200")
    assert '"model": "iris:1"' in body_text
    assert '"prediction": "setosa"' in body_text
