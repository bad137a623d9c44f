"""Load clients for `make bench`: one per protocol, the same workload, driven the same way.

Each client turns a row of iris features into one request on its protocol and returns True on a
correct answer. The driver keeps `concurrency` requests in flight and times each one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
import numpy as np
import paho.mqtt.client as mqtt
import websockets
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from predictions.grpc.gen.inference import open_inference_pb2 as v2
from predictions.grpc.gen.inference import open_inference_pb2_grpc as v2_grpc
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc

Row = list[float]
Call = Callable[[Row], Awaitable[bool]]


@dataclass
class Target:
    http: str  # http://127.0.0.1:port
    grpc: str  # 127.0.0.1:port
    token: str
    model: str = "iris"
    mqtt_prefix: str = "ml"
    mqtt_port: int = 1883
    features: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    latencies: list[float]
    errors: int
    seconds: float

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


async def drive(call: Call, rows: list[Row], concurrency: int) -> Outcome:
    """Send every row with `concurrency` requests in flight; time each request."""
    latencies: list[float] = []
    errors = 0
    queue = iter(rows)

    async def worker() -> None:
        nonlocal errors
        for row in queue:
            started = time.perf_counter()
            try:
                ok = await call(row)
            except Exception:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Outcome(latencies, errors, time.perf_counter() - started)


ANSWERED: dict[str, int] = {}  # successful responses per protocol, warm-ups included


class Client:
    """Opens its connections once (`start`), then `call` sends one request."""

    name = ""

    def __init__(self, target: Target) -> None:
        self.target = target

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def call(self, row: Row) -> bool:
        raise NotImplementedError

    async def run(self, rows: list[Row], concurrency: int) -> Outcome:
        outcome = await self._run(rows, concurrency)
        ANSWERED[self.name] = ANSWERED.get(self.name, 0) + outcome.ok
        return outcome

    async def _run(self, rows: list[Row], concurrency: int) -> Outcome:
        return await drive(self.call, rows, concurrency)


class HttpClient(Client):
    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": f"Bearer {self.target.token}"},
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def stop(self) -> None:
        await self.session.close()


class Rest(HttpClient):
    name = "REST"

    async def call(self, row: Row) -> bool:
        url = f"{self.target.http}/api/v1/models/{self.target.model}/predict/"
        async with self.session.post(url, json={"X": [row]}) as response:
            body = await response.json()
            return response.status == 200 and len(body["predictions"]) == 1


class FlaskRest(HttpClient):
    """The seed's REST example (bench/peers/flask_app.py): POST /predict {"X": [[...]]}."""

    name = "Flask"

    async def call(self, row: Row) -> bool:
        async with self.session.post(f"{self.target.http}/predict", json={"X": [row]}) as response:
            body = await response.json()
            return response.status == 200 and len(body["predictions"]) == 1


class V2Rest(HttpClient):
    name = "V2 REST"

    async def call(self, row: Row) -> bool:
        url = f"{self.target.http}/v2/models/{self.target.model}/infer"
        request = {
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, len(row)], "data": row}]
        }
        async with self.session.post(url, json=request) as response:
            body = await response.json()
            return response.status == 200 and bool(body["outputs"])


class GraphQL(HttpClient):
    name = "GraphQL"
    QUERY = (
        "mutation($m: String!, $i: JSONString!) { createPrediction(modelName: $m, inputData: $i)"
        " { prediction { id output } } }"
    )

    async def call(self, row: Row) -> bool:
        variables = {"m": self.target.model, "i": json.dumps({"X": [row]})}
        async with self.session.post(
            f"{self.target.http}/graphql/",
            json={"query": self.QUERY, "variables": variables},
            headers={"Authorization": f"JWT {self.target.token}"},
        ) as response:
            body = await response.json()
            return response.status == 200 and "errors" not in body


class DrfModels(HttpClient):
    """A DRF route through Django (not a prediction): the registry's entry for the target model,
    as a client polling it would ask. The row is not used."""

    name = "DRF"

    async def call(self, row: Row) -> bool:
        url = f"{self.target.http}/api/v1/models/?name={self.target.model}&page_size=5"
        async with self.session.get(url) as response:
            body = await response.json()
            return response.status == 200 and bool(body["results"])


class Soap(HttpClient):
    name = "SOAP"

    async def call(self, row: Row) -> bool:
        values = "".join(f"<t:double>{v!r}</t:double>" for v in row)
        envelope = (
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:t="urn:mlplatform:v1"><soap:Body><t:Predict>'
            f"<t:model>{self.target.model}</t:model><t:features>{values}</t:features>"
            "</t:Predict></soap:Body></soap:Envelope>"
        )
        async with self.session.post(
            f"{self.target.http}/soap/",
            data=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Predict"'},
        ) as response:
            text = await response.text()
            return response.status == 200 and "latencyMs" in text


class WebSocket(Client):
    """One connection, pipelined: up to `concurrency` requests in flight, replies in order."""

    name = "WebSocket"

    async def start(self) -> None:
        url = self.target.http.replace("http://", "ws://")
        self.socket = await websockets.connect(
            f"{url}/ws/predict/{self.target.model}/?token={self.target.token}", max_size=None
        )

    async def stop(self) -> None:
        await self.socket.close()

    async def _run(self, rows: list[Row], concurrency: int) -> Outcome:
        window = asyncio.Semaphore(concurrency)
        sent_at: dict[int, float] = {}
        latencies: list[float] = []
        errors = 0

        async def receive() -> None:
            nonlocal errors
            for _ in rows:
                reply = json.loads(await self.socket.recv())
                began = sent_at.pop(reply.get("id"), None)
                if began is not None and "predictions" in reply:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1
                window.release()

        started = time.perf_counter()
        receiver = asyncio.create_task(receive())
        for i, row in enumerate(rows):
            await window.acquire()
            sent_at[i] = time.perf_counter()
            await self.socket.send(json.dumps({"id": i, "X": [row]}))
        await receiver
        return Outcome(latencies, errors, time.perf_counter() - started)


class Grpc(Client):
    name = "gRPC"

    async def start(self) -> None:
        self.channel = grpc.aio.insecure_channel(self.target.grpc)
        self.stub = pb_grpc.PredictionServiceStub(self.channel)
        self.metadata = (("authorization", f"Bearer {self.target.token}"),)

    async def stop(self) -> None:
        await self.channel.close()

    async def call(self, row: Row) -> bool:
        request = pb.PredictRequest(
            model=self.target.model, rows=pb.Rows(rows=[pb.Row(values=row)])
        )
        response = await self.stub.Predict(request, metadata=self.metadata, timeout=60)
        return len(response.predictions) == 1


class V2Grpc(Grpc):
    name = "V2 gRPC"

    async def start(self) -> None:
        await super().start()
        self.v2 = v2_grpc.GRPCInferenceServiceStub(self.channel)

    async def call(self, row: Row) -> bool:
        tensor = v2.ModelInferRequest.InferInputTensor(
            name="input-0", datatype="FP64", shape=[1, len(row)]
        )
        request = v2.ModelInferRequest(
            model_name=self.target.model,
            inputs=[tensor],
            raw_input_contents=[np.asarray(row, dtype="<f8").tobytes()],
        )
        response = await self.v2.ModelInfer(request, metadata=self.metadata, timeout=60)
        return bool(response.outputs)


class Mqtt(Client):
    """QoS 1 end to end: request with an MQTT 5 response topic, reply matched by correlation."""

    name = "MQTT"

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pending: dict[bytes, asyncio.Future[bool]] = {}
        self.reply_topic = f"{self.target.mqtt_prefix}/bench-replies/{uuid.uuid4().hex[:8]}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1024)
        self.client.on_message = self._on_message
        self.client.on_socket_open = lambda c, u, sock: sock.setsockopt(6, 1, 1)  # TCP_NODELAY
        subscribed = asyncio.Event()
        self.client.on_subscribe = lambda *args: self.loop.call_soon_threadsafe(subscribed.set)
        self.client.connect("127.0.0.1", self.target.mqtt_port)
        self.client.loop_start()
        self.client.subscribe(self.reply_topic, qos=1)
        await asyncio.wait_for(subscribed.wait(), 10)

    async def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        ok = b'"predictions"' in message.payload
        future = self.pending.pop(correlation, None) if correlation else None
        if future is not None:
            self.loop.call_soon_threadsafe(_resolve, future, ok)

    async def call(self, row: Row) -> bool:
        correlation = uuid.uuid4().bytes
        future: asyncio.Future[bool] = self.loop.create_future()
        self.pending[correlation] = future
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = correlation
        topic = f"{self.target.mqtt_prefix}/{self.target.model}/input"
        self.client.publish(topic, json.dumps({"X": [row]}), qos=1, properties=props)
        return await asyncio.wait_for(future, 60)


def _resolve(future: asyncio.Future[bool], ok: bool) -> None:
    if not future.done():
        future.set_result(ok)


PROTOCOLS: list[type[Client]] = [Rest, V2Rest, GraphQL, Soap, WebSocket, Grpc, V2Grpc, Mqtt]
