"""The seed's gRPC baseline: plain grpcio, ThreadPoolExecutor(10), iris LogisticRegression.

It serves our `mlplatform.v1.PredictionService/Predict` message shapes (so the same client
drives it) but nothing else: no auth, no validation, no records, no cache.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import joblib

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc

model = joblib.load(os.environ["IRIS_MODEL"])


class Servicer(pb_grpc.PredictionServiceServicer):
    def Predict(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        rows = [list(row.values) for row in request.rows.rows]
        labels = model.predict(rows)
        return pb.PredictResponse(
            model="iris", predictions=[pb.Prediction(label=pb.Label(label=str(x))) for x in labels]
        )


def main() -> None:
    server = grpc.server(ThreadPoolExecutor(max_workers=10))
    pb_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    print("grpc baseline listening", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
