"""`manage.py mqttbridge`: run the MQTT bridge until SIGTERM/SIGINT, then drain and stop."""

from __future__ import annotations

import signal
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from mlplatform.auth import principal_for_user
from mlplatform.events import flush_events
from mlplatform.ops_http import start_ops_server
from predictions.feed import flush_feed
from predictions.mqtt.bridge import MqttBridge
from predictions.mqtt.handler import MqttSettings
from predictions.recording import recorder


class Command(BaseCommand):
    help = "Serve predictions over MQTT (requests on ml/{model}/input)."

    def handle(self, *args: Any, **options: Any) -> None:
        account, _ = get_user_model().objects.get_or_create(username=settings.MQTT_BRIDGE_USER)
        principal = principal_for_user(account)
        assert principal is not None
        bridge = MqttBridge(
            url=settings.MQTT_URL,
            settings=MqttSettings(
                prefix=settings.MQTT_TOPIC_PREFIX,
                default_model=settings.MQTT_DEFAULT_MODEL,
                require_token=settings.MQTT_REQUIRE_TOKEN,
                bridge_principal=principal,
                max_payload_bytes=settings.MLP_MAX_BODY_BYTES,
            ),
            group=settings.MQTT_SHARE_GROUP,
            workers=settings.MQTT_WORKERS,
            max_inflight=settings.MQTT_MAX_INFLIGHT,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: bridge.stop())
        prefix, target = settings.MQTT_TOPIC_PREFIX, urlparse(settings.MQTT_URL)
        where = f"{target.hostname}:{target.port or 1883}"  # never log the credentials
        ops = start_ops_server(
            settings.MLP_OPS_HOST, settings.MLP_MQTT_METRICS_PORT, bridge.health, "mqtt bridge"
        )
        self.stdout.write(f"MQTT bridge on {where}, requests on {prefix}/+/input")
        self.stdout.flush()
        bridge.run()  # returns after draining: every accepted request answered and recorded
        recorder().stop()
        flush_feed()
        flush_events()
        if ops is not None:
            ops.stop()
