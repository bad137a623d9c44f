"""`manage.py grpcserver`: serve gRPC until SIGTERM/SIGINT, then drain in-flight calls and stop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from mlplatform.ops_http import start_ops_server
from predictions.grpc.server import GrpcServer, GrpcSettings


class Command(BaseCommand):
    help = "Serve mlplatform.v1.PredictionService and inference.GRPCInferenceService."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--address", default=f"{settings.MLP_GRPC_HOST}:{settings.MLP_GRPC_PORT}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        server = GrpcServer(
            GrpcSettings(
                address=options["address"],
                threads=settings.MLP_GRPC_THREADS,
                max_message_bytes=settings.MLP_MAX_BODY_BYTES,
                max_concurrent_rpcs=settings.MLP_GRPC_MAX_CONCURRENT_RPCS,
                grace_seconds=settings.MLP_GRPC_GRACE_SECONDS,
            )
        )
        stopping = threading.Event()

        def on_signal(*_: Any) -> None:
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.stop, name="grpc-stop").start()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, on_signal)
        server.start()
        ops = start_ops_server(
            settings.MLP_OPS_HOST, settings.MLP_GRPC_METRICS_PORT, server.health_state, "grpc"
        )
        self.stdout.write(f"gRPC server listening on port {server.port}")
        self.stdout.flush()
        server.wait()
        if ops is not None:
            ops.stop()
        if stopping.is_set():
            server.stop()  # returns once the stopping thread's flush is done (idempotent)
        self.stdout.write("gRPC server stopped")
