"""The MQTT bridge: paho-mqtt (MQTT 5) in front of the inference core.

Requests arrive on shared subscriptions; a bounded worker pool answers them (a flood blocks the
network thread, which pushes back on the broker, instead of filling memory); replies go to the
MQTT 5 response topic with its correlation data, else to {prefix}/{model}/output, at QoS 1.
A QoS 1 redelivery of a request already answered gets the same reply again, not a second
prediction. paho reconnects with back-off and the subscriptions are renewed on every connect.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from django.db import close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mlplatform.metrics import MQTT_IN_FLIGHT, MQTT_RECONNECTS
from predictions.mqtt.handler import MqttSettings, answer
from predictions.mqtt.topics import request_filters, route

logger = logging.getLogger(__name__)

QOS = 1
RECENT_REPLIES = 4096
RECENT_SECONDS = 120.0


class RecentReplies:
    """Replies by request key for a while, so a redelivered request is answered identically."""

    def __init__(self) -> None:
        self._items: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > RECENT_SECONDS:
                return None
            return item[1]

    def put(self, key: bytes, reply: bytes) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), reply)
            self._items.move_to_end(key)
            while len(self._items) > RECENT_REPLIES:
                self._items.popitem(last=False)


class MqttBridge:
    def __init__(
        self, *, url: str, settings: MqttSettings, group: str, workers: int, max_inflight: int
    ) -> None:
        self.settings = settings
        self.group = group
        self.target = urlparse(url)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mqtt")
        self.slots = threading.BoundedSemaphore(max_inflight)
        self.recent = RecentReplies()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"mlplatform-bridge-{socket.gethostname()}-{id(self):x}",
            protocol=mqtt.MQTTv5,
        )
        if self.target.username:
            self.client.username_pw_set(self.target.username, self.target.password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_socket_open = self._on_socket_open

    # --- lifecycle ------------------------------------------------------------------------------

    def run(self) -> None:
        """Connect (retrying until the broker answers) and serve until stop() is called."""
        self.client.connect_async(self.target.hostname or "127.0.0.1", self.target.port or 1883)
        self.client.loop_start()
        self.stopping.wait()
        self._drain()

    def stop(self) -> None:
        self.stopping.set()

    def health(self) -> dict[str, Any]:
        """For the ops endpoint: ok while connected to the broker and not shutting down."""
        if self.stopping.is_set():
            return {"status": "stopping"}
        if not self.connected.is_set():
            return {
                "status": "disconnected",
                "broker": f"{self.target.hostname}:{self.target.port}",
            }
        return {"status": "ok", "broker": f"{self.target.hostname}:{self.target.port or 1883}"}

    def _drain(self) -> None:
        """Stop taking requests, finish those in flight (their replies included), disconnect."""
        prefix = self.settings.prefix
        self.client.unsubscribe(request_filters(prefix, self.group))
        self.pool.shutdown(wait=True)
        time.sleep(0.2)  # let the network thread flush the last QoS 1 replies
        self.client.disconnect()
        self.client.loop_stop()
        logger.info("MQTT bridge stopped")

    # --- paho callbacks -------------------------------------------------------------------------

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # 88 ms -> 0.7 ms round trips

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            logger.warning("MQTT connect refused: %s", reason)
            return
        filters = request_filters(self.settings.prefix, self.group)
        client.subscribe([(topic, QOS) for topic in filters])
        MQTT_RECONNECTS.inc()

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, reasons: list[Any], props: Any
    ) -> None:
        """Ready only once the broker has acknowledged the subscriptions: a request published
        between CONNACK and SUBACK has no subscriber yet (tests saw them vanish)."""
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            logger.warning("MQTT subscription refused: %s", ", ".join(refused))
            return
        self.connected.set()
        filters = request_filters(self.settings.prefix, self.group)
        logger.info("MQTT bridge connected; subscribed to %s", ", ".join(filters))

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected.clear()
        if not self.stopping.is_set():
            logger.warning("MQTT broker connection lost (%s); reconnecting", reason)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        destination = route(
            message.topic, prefix=self.settings.prefix, default_model=self.settings.default_model
        )
        if destination is None or self.stopping.is_set():
            return
        props = getattr(message, "properties", None)
        reply_topic = getattr(props, "ResponseTopic", None) or destination.reply_topic
        correlation = getattr(props, "CorrelationData", None)
        key = _request_key(message, correlation)
        cached = self.recent.get(key) if message.dup else None
        if cached is not None:
            self._publish(reply_topic, cached, correlation)
            return
        self.slots.acquire()  # backpressure: the network thread waits for a free slot
        MQTT_IN_FLIGHT.inc()
        payload = bytes(message.payload)
        self.pool.submit(self._serve, destination.model, payload, reply_topic, correlation, key)

    # --- work -----------------------------------------------------------------------------------

    def _serve(
        self, model: str, payload: bytes, reply_topic: str, correlation: bytes | None, key: bytes
    ) -> None:
        try:
            close_old_connections()  # this worker thread keeps its connection between messages
            reply = answer(model, payload, self.settings)
            self.recent.put(key, reply)
            self._publish(reply_topic, reply, correlation)
        finally:
            MQTT_IN_FLIGHT.dec()
            self.slots.release()

    def _publish(self, topic: str, body: bytes, correlation: bytes | None) -> None:
        props = None
        if correlation is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = correlation
        self.client.publish(topic, body, qos=QOS, properties=props)


def _request_key(message: mqtt.MQTTMessage, correlation: bytes | None) -> bytes:
    return b"\x00".join((message.topic.encode(), correlation or b"", bytes(message.payload)))
