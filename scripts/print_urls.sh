#!/usr/bin/env bash
# The banner `make run` prints before the processes start.
port=${1:-8000}
cat <<MSG

  MLPlatform is starting
  ----------------------
  REST predict   POST http://127.0.0.1:$port/api/v1/models/{ref}/predict/
  Admin          http://127.0.0.1:$port/admin/
  GraphQL        http://127.0.0.1:$port/graphql/   (GraphiQL in a browser)
  REST docs      http://127.0.0.1:$port/api/docs/
  SOAP (WSDL)    http://127.0.0.1:$port/soap/?wsdl
  V2 (KServe)    http://127.0.0.1:$port/v2/   (tritonclient.http works unchanged)
  gRPC           127.0.0.1:${MLP_GRPC_PORT:-50051}: mlplatform.v1.PredictionService, inference.GRPCInferenceService,
                 health and server reflection (e.g. grpcurl -plaintext ... list)
  WebSockets     ws://127.0.0.1:$port/ws/predict/{ref}/?token=...   ws://127.0.0.1:$port/ws/feed/ (staff)
  Live feed      http://127.0.0.1:$port/live/
  MQTT           publish to ml/{model}/input, read ml/{model}/output (broker 127.0.0.1:1883)
  Health         http://127.0.0.1:$port/healthz   http://127.0.0.1:$port/readyz

  Get a token:
    curl -s -X POST http://127.0.0.1:$port/api/v1/auth/token/ \\
         -H 'Content-Type: application/json' -d '{"username":"admin","password":"admin"}'
  Predict:
    curl -s -X POST http://127.0.0.1:$port/api/v1/models/iris/predict/ \\
         -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
         -d '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'

  (admin/admin exists only in DEBUG; set MLP_ADMIN_USER/MLP_ADMIN_PASSWORD otherwise.)
  Ctrl-C stops everything.

MSG
