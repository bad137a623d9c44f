"""The gRPC process: both prediction services, health, reflection, auth, limits, graceful stop."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from mlplatform.events import flush_events
from predictions.feed import flush_feed
from predictions.grpc.auth import AuthInterceptor
from predictions.grpc.gen.inference import open_inference_pb2, open_inference_pb2_grpc
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2, prediction_pb2_grpc
from predictions.grpc.pool import POOL
from predictions.grpc.servicers import PredictionServicer
from predictions.grpc.v2_servicer import InferenceServicer
from predictions.recording import recorder

logger = logging.getLogger(__name__)

PREDICTION_SERVICE = prediction_pb2.DESCRIPTOR.services_by_name["PredictionService"].full_name
INFERENCE_SERVICE = open_inference_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name


@dataclass(frozen=True, slots=True)
class GrpcSettings:
    address: str
    threads: int
    max_message_bytes: int
    max_concurrent_rpcs: int
    grace_seconds: float


class GrpcServer:
    def __init__(self, config: GrpcSettings) -> None:
        self.config = config
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="grpc"),
            interceptors=[AuthInterceptor()],
            options=[
                ("grpc.max_receive_message_length", config.max_message_bytes),
                ("grpc.max_send_message_length", config.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
            maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        )
        prediction_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(), self.server
        )
        open_inference_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
            InferenceServicer(), self.server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        _enable_reflection(self.server)
        self.port = self.server.add_insecure_port(config.address)
        self._stop_lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        self.server.start()
        for name in ("", PREDICTION_SERVICE, INFERENCE_SERVICE):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self) -> None:
        """Refuse new calls, let in-flight ones finish (grace), then flush records and events."""
        with self._stop_lock:  # a second caller waits here until the first one is done
            if self._stopped:
                return
            self.health.enter_graceful_shutdown()
            self.server.stop(self.config.grace_seconds).wait()
            recorder().stop()
            flush_feed()
            flush_events()
            self._stopped = True

    def health_state(self) -> dict[str, str]:
        return {"status": "stopping" if self._stop_lock.locked() or self._stopped else "ok"}

    def wait(self) -> None:
        self.server.wait_for_termination()


def _enable_reflection(server: grpc.Server) -> None:
    """Reflection reads our private pool; the health and reflection protos are added to it."""
    for module in (health_pb2, reflection_pb2):
        try:
            POOL.FindFileByName(module.DESCRIPTOR.name)
        except KeyError:
            POOL.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    names = (
        PREDICTION_SERVICE,
        INFERENCE_SERVICE,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server, pool=POOL)
