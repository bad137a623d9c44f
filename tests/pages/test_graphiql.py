"""GraphiQL as a person uses it: prefilled query, a JWT in the headers editor, run, see data."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.pages.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

QUERY = """{
  allModels(task: "classification") {
    ref
    stage
    metrics
  }
  me { username }
}"""


def test_graphiql_runs_a_query_with_a_token(page: Any, web_server: str, user_jwt: str) -> None:
    page.goto(f"{web_server}/graphql/#query={quote(QUERY)}")
    page.wait_for_selector(".graphiql-container", timeout=20_000)

    page.get_by_role("button", name="Headers").click()
    headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor").last
    headers_editor.locator(".CodeMirror").click()
    page.keyboard.insert_text(json.dumps({"Authorization": f"JWT {user_jwt}"}))
    page.locator(".graphiql-execute-button").click()

    result = page.locator(".result-window")
    result.get_by_text('"username": "alice"').wait_for(timeout=20_000)
    screenshot(page, "graphiql")
    text = result.inner_text()
    assert '"ref": "iris:1"' in text
    assert '"errors"' not in text
