"""The MQTT handler's token rules (MQTT_REQUIRE_TOKEN), in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlplatform.auth import Principal
from mlplatform.tokens import access_token_for
from predictions.mqtt.handler import MqttSettings, answer
from predictions.mqtt.topics import route


def settings_for(require_token: bool, bridge: Principal) -> MqttSettings:
    return MqttSettings(
        prefix="ml", default_model="demo", require_token=require_token, bridge_principal=bridge
    )


def test_token_mode_refuses_a_message_without_token(user_principal: Any) -> None:
    reply = json.loads(
        answer("demo", b'{"X": [[1, 2]], "id": 9}', settings_for(True, user_principal))
    )

    assert reply == {
        "error": {
            "code": "unauthenticated",
            "message": "this bridge requires a 'token' field (MQTT_REQUIRE_TOKEN)",
            "details": None,
        },
        "id": 9,
    }


def test_token_mode_accepts_a_valid_token(user: Any, staff_principal: Any) -> None:
    body = json.dumps({"X": [[1, 2]], "token": access_token_for(user)}).encode()

    reply = json.loads(answer("demo", body, settings_for(True, staff_principal)))

    assert reply["predictions"] == [pytest.approx(1.3, abs=1e-4)]


@pytest.mark.parametrize(
    ("topic", "model", "reply"),
    [
        ("ml/input", "demo", "ml/output"),
        ("ml/iris/input", "iris", "ml/iris/output"),
        ("ml/iris:2/input", "iris:2", "ml/iris:2/output"),
    ],
)
def test_routes(topic: str, model: str, reply: str) -> None:
    destination = route(topic, prefix="ml", default_model="demo")

    assert destination is not None
    assert (destination.model, destination.reply_topic) == (model, reply)


@pytest.mark.parametrize(
    "topic", ["ml/a/b/input", "other/iris/input", "ml/iris/output", "ml//input"]
)
def test_foreign_topics_are_ignored(topic: str) -> None:
    assert route(topic, prefix="ml", default_model="demo") is None


def test_an_oversized_payload_is_refused_before_parsing(user_principal: Any) -> None:
    limited = MqttSettings(
        prefix="ml",
        default_model="demo",
        require_token=False,
        bridge_principal=user_principal,
        max_payload_bytes=64,
    )
    payload = b'{"X": [[1, 2]], "id": "' + b"x" * 64 + b'"}'

    reply = json.loads(answer("demo", payload, limited))

    assert reply["error"]["code"] == "invalid_input"
    assert (
        reply["error"]["message"]
        == f"payload of {len(payload)} bytes exceeds the limit of 64 bytes"
    )
