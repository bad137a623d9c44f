"""MQTT end to end: the real bridge process, real Mosquitto, paho-mqtt and the mosquitto CLIs."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from predictions.models import Prediction
from tests.conftest import RUN_ID, server_environment
from tests.prometheus import scrape, total
from tests.recorded import recorded
from tests.servers import LOG_DIR, free_port, run_process, wait_for_log

pytestmark = pytest.mark.e2e

PREFIX = f"mltest{RUN_ID}"


class Device:
    """A paho client that collects what arrives on its subscriptions, and renews them on every
    connect, as a device must (a restarted broker forgets them)."""

    def __init__(self, port: int = 1883, *, v5: bool = True, reconnect_min: int = 1) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"device-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=reconnect_min, max_delay=reconnect_min)
        self.topics: list[str] = []
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)
        self.client.on_connect = self._resubscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _resubscribe(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        for topic in self.topics:
            client.subscribe(topic, qos=1)

    def subscribe(self, topic: str) -> None:
        self.topics.append(topic)
        result, _mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.2)

    def publish(self, topic: str, body: Any, props: Properties | None = None) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(topic, payload, qos=1, properties=props)

    def next(self, timeout: float = 15) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run_bridge(env: dict[str, str], name: str, broker_port: int = 1883) -> Any:
    argv = [sys.executable, "manage.py", "mqttbridge"]
    bridge_env = {
        **env,
        "MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
        "MQTT_TOPIC_PREFIX": PREFIX,
        "MQTT_SHARE_GROUP": f"mlptest{RUN_ID}",
    }
    return run_process(name, argv, bridge_env)


@pytest.fixture(scope="module")
def bridge_ops_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def bridge(database_url: str, bridge_ops_port: int) -> Iterator[Any]:
    env = {**server_environment(database_url), "MLP_MQTT_METRICS_PORT": str(bridge_ops_port)}
    with run_bridge(env, "mqtt-bridge") as process:
        wait_for_log(LOG_DIR / "mqtt-bridge.log", "subscribed to", process, timeout=30)
        time.sleep(0.3)
        yield process


@pytest.fixture
def device() -> Iterator[Device]:
    client = Device()
    yield client
    client.close()


def test_seed_client_code_gets_the_demo_prediction(bridge: Any) -> None:
    """The seed: publish features to ml/input, read ml/output (MQTT 3.1.1, no properties)."""
    seed = Device(v5=False)
    seed.subscribe(f"{PREFIX}/output")

    seed.publish(f"{PREFIX}/input", {"feature1": 1.0, "feature2": 2.0})

    reply = json.loads(seed.next().payload)
    seed.close()
    assert reply["model"] == "demo:1"
    assert reply["prediction"] == pytest.approx(1.3, abs=1e-4)


def test_named_model_replies_on_its_output_topic(bridge: Any, device: Device) -> None:
    device.subscribe(f"{PREFIX}/iris/output")

    device.publish(f"{PREFIX}/iris/input", {"X": [[6.9, 3.1, 5.4, 2.1]], "id": "r-7"})

    message = device.next()
    assert message.topic == f"{PREFIX}/iris/output"
    assert json.loads(message.payload)["predictions"] == ["virginica"]
    assert json.loads(message.payload)["id"] == "r-7"


def test_mqtt5_response_topic_and_correlation_data(bridge: Any, device: Device) -> None:
    reply_topic = f"{PREFIX}/replies/{uuid.uuid4().hex[:6]}"
    device.subscribe(reply_topic)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = reply_topic
    props.CorrelationData = b"corr-42"

    device.publish(f"{PREFIX}/sentiment/input", {"text": "I love it!"}, props)

    message = device.next()
    assert message.topic == reply_topic
    assert message.properties.CorrelationData == b"corr-42"
    assert json.loads(message.payload)["prediction"]["classification"] == "Positive"


@pytest.mark.parametrize(
    ("_case", "topic", "payload", "code"),
    [
        ("not json", "demo", b"{not json", "invalid_input"),
        ("not an object", "demo", b"[1, 2]", "invalid_input"),
        ("bad features", "demo", b'{"X": [[1]]}', "invalid_input"),
        ("unknown model", "nope", b'{"X": [[1, 2]]}', "model_not_found"),
        ("bad token", "demo", b'{"X": [[1, 2]], "token": "x.y.z"}', "unauthenticated"),
    ],
)
def test_bad_payloads_get_error_replies(
    _case: str, topic: str, payload: bytes, code: str, bridge: Any, device: Device
) -> None:
    device.subscribe(f"{PREFIX}/{topic}/output")

    device.publish(f"{PREFIX}/{topic}/input", payload)

    assert json.loads(device.next().payload)["error"]["code"] == code
    assert bridge.poll() is None
    device.subscribe(f"{PREFIX}/demo/output")
    device.publish(f"{PREFIX}/demo/input", {"X": [[1, 2]]})
    assert "predictions" in json.loads(device.next().payload)


def test_predictions_are_recorded_as_mqtt(bridge: Any, device: Device, db_reader: None) -> None:
    marker = f"mqtt-{uuid.uuid4().hex}"
    device.subscribe(f"{PREFIX}/demo/output")

    device.publish(f"{PREFIX}/demo/input", {"X": [[2, 2]], "id": marker})
    device.next()

    row = recorded(Prediction.objects.filter(request_id=marker)).get()
    assert (row.protocol, row.user.username) == ("mqtt", "mqtt-bridge")


def test_bridge_metrics_and_health(bridge: Any, bridge_ops_port: int, device: Device) -> None:
    ops = f"http://127.0.0.1:{bridge_ops_port}"
    before = scrape(f"{ops}/metrics")
    device.subscribe(f"{PREFIX}/demo/output")

    for i in range(3):
        device.publish(f"{PREFIX}/demo/input", {"X": [[float(i), uuid.uuid4().int % 97]]})
        device.next()

    after = scrape(f"{ops}/metrics")
    health = requests.get(f"{ops}/healthz", timeout=5)
    assert (
        total(after, "mlp_predictions_total", protocol="mqtt")
        - total(before, "mlp_predictions_total", protocol="mqtt")
        == 3
    )
    assert total(after, "mlp_mqtt_reconnects_total") >= 1
    assert total(after, "mlp_mqtt_in_flight") == 0
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def test_mosquitto_command_line_clients(bridge: Any) -> None:
    subscriber = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-t",
            f"{PREFIX}/diabetes/output",
            "-C",
            "1",
            "-W",
            "15",
            "-q",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)

    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-t",
            f"{PREFIX}/diabetes/input",
            "-q",
            "1",
            "-m",
            json.dumps({"X": [[0.0] * 10]}),
        ],
        check=True,
        timeout=10,
    )

    output, _ = subscriber.communicate(timeout=20)
    assert json.loads(output)["model"] == "diabetes:1"


def test_bridge_survives_a_broker_restart(database_url: str, tmp_path: Path) -> None:
    """A private broker is stopped and started again; the bridge reconnects and resubscribes,
    and every QoS 1 request the device published while the broker was down is answered."""
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n")
    broker_argv = ["mosquitto", "-c", str(config)]
    with run_process("broker-1", broker_argv, {}) as broker:
        time.sleep(0.5)
        with run_bridge(server_environment(database_url), "mqtt-bridge-restart", port) as bridge:
            wait_for_log(LOG_DIR / "mqtt-bridge-restart.log", "subscribed to", bridge, 30)
            device = Device(port, reconnect_min=3)  # reconnects after the bridge does
            device.subscribe(f"{PREFIX}/demo/output")
            device.publish(f"{PREFIX}/demo/input", {"X": [[1, 1]], "id": "before"})
            assert json.loads(device.next().payload)["id"] == "before"

            broker.terminate()
            broker.wait(timeout=10)
            for n in range(20):  # queued by the device's client until the broker is back
                device.publish(f"{PREFIX}/demo/input", {"X": [[2, 2]], "id": f"during-{n}"})
            with run_process("broker-2", broker_argv, {}):
                replies = [json.loads(device.next(timeout=40).payload) for _ in range(20)]
                device.close()
                assert sorted(r["id"] for r in replies) == sorted(f"during-{n}" for n in range(20))
                assert replies[0]["predictions"][0] == pytest.approx(1.8, abs=1e-4)
                assert bridge.poll() is None


SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def test_shipped_broker_config_authenticates_and_enforces_acls(
    database_url: str, tmp_path: Path
) -> None:
    """deploy/mosquitto as shipped (paths and port moved): passwords, ACLs, bridge credentials."""
    port = free_port()
    passwords = tmp_path / "mlplatform.passwd"
    for user, password in (
        ("mlplatform-bridge", "bridge-secret"),
        ("device-0001", "device-secret"),
    ):
        flag = ["-c"] if not passwords.exists() else []
        subprocess.run(
            ["mosquitto_passwd", *flag, "-b", str(passwords), user, password], check=True
        )
    config = (SHIPPED / "mosquitto.conf").read_text()
    config = config.replace("listener 1883", f"listener {port} 127.0.0.1")
    config = config.replace("/etc/mosquitto/mlplatform.passwd", str(passwords))
    config = config.replace("/etc/mosquitto/mlplatform.acl", str(SHIPPED / "mlplatform.acl"))
    config = config.replace("persistence true", "persistence false")
    config = config.replace("persistence_location /var/lib/mosquitto/\n", "")
    config += "user root\n"  # as root, mosquitto would switch users and lose the temp dir
    (tmp_path / "mosquitto.conf").write_text(config)

    with run_process("broker-shipped", ["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], {}):
        time.sleep(0.5)
        env = {
            **server_environment(database_url),
            "MQTT_URL": f"mqtt://mlplatform-bridge:bridge-secret@127.0.0.1:{port}",
            "MQTT_TOPIC_PREFIX": "ml",
        }
        with run_process(
            "mqtt-bridge-shipped", [sys.executable, "manage.py", "mqttbridge"], env
        ) as b:
            wait_for_log(LOG_DIR / "mqtt-bridge-shipped.log", "subscribed to", b, 30)
            assert "bridge-secret" not in (LOG_DIR / "mqtt-bridge-shipped.log").read_text()
            device = _authenticated_device(port, "device-0001", "device-secret")
            watcher = _authenticated_device(port, "device-0001", "device-secret")
            device.subscribe("ml/demo/output")
            device.publish("ml/demo/input", {"X": [[1, 2]], "id": "acl"})
            assert json.loads(device.next().payload)["id"] == "acl"

            watcher.subscribe("ml/demo/output")
            device.publish("ml/demo/output", {"forged": True})  # devices may not publish replies
            with pytest.raises(queue.Empty):
                watcher.next(timeout=1.5)
            device.close()
            watcher.close()

        answers: queue.Queue[Any] = queue.Queue()
        anonymous = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        anonymous.on_connect = lambda client, userdata, flags, reason, props: answers.put(reason)
        anonymous.connect("127.0.0.1", port)
        anonymous.loop_start()
        refusal = answers.get(timeout=10)
        anonymous.loop_stop()
        assert refusal.is_failure
        assert str(refusal) == "Not authorized"


def _authenticated_device(port: int, user: str, password: str) -> Device:
    device = Device.__new__(Device)
    device.messages = queue.Queue()
    device.topics = []
    device.client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{user}-{uuid.uuid4().hex[:6]}",
        protocol=mqtt.MQTTv5,
    )
    device.client.username_pw_set(user, password)
    device.client.on_message = lambda client, userdata, message: device.messages.put(message)
    device.client.on_connect = device._resubscribe
    device.client.connect("127.0.0.1", port)
    device.client.loop_start()
    return device


def test_sigterm_on_the_bridge_writes_every_answered_row(
    database_url: str, db_reader: None
) -> None:
    """The writer lingers for a minute here, so the answered rows are still queued when SIGTERM
    arrives: only the bridge's stop can write them, and it must write them all."""
    prefix = f"mltestterm{uuid.uuid4().hex[:8]}"
    env = {
        **server_environment(database_url),
        "MQTT_TOPIC_PREFIX": prefix,
        "MQTT_SHARE_GROUP": prefix,
        "MLP_RECORD_LINGER_MS": "60000",
    }
    ids = [f"{prefix}-{i}" for i in range(30)]
    argv = [sys.executable, "manage.py", "mqttbridge"]
    with run_process("mqtt-bridge-sigterm", argv, env) as bridge:
        wait_for_log(LOG_DIR / "mqtt-bridge-sigterm.log", "subscribed to", bridge, 30)
        device = Device()
        device.subscribe(f"{prefix}/demo/output")
        for request_id in ids:
            device.publish(f"{prefix}/demo/input", {"X": [[1, 2]], "id": request_id})
        replies = [json.loads(device.next(timeout=30).payload) for _ in ids]
        device.close()
        written_before_stop = Prediction.objects.filter(request_id__in=ids).count()
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(30)

    assert sorted(reply["id"] for reply in replies) == sorted(ids)
    assert written_before_stop == 0  # queued, as the linger means
    assert Prediction.objects.filter(request_id__in=ids, protocol="mqtt").count() == 30
