"""Health checks of the stack's containers, light enough to run every few seconds on a small
machine (no dagster or mlflow import): `http URL` answers 2xx/3xx, `grpc PORT` is Dagster's
code server answering the gRPC health service, `serving URL` is the scoring service answering
/health (503 "no_model" counts: it serves and follows the registry, which has no champion
before the first training run)."""

import json
import sys
import urllib.error
import urllib.request


def main(kind: str, target: str) -> None:
    if kind == "http":
        urllib.request.urlopen(target, timeout=4).close()
        return
    if kind == "serving":
        try:
            urllib.request.urlopen(target, timeout=4).close()
        except urllib.error.HTTPError as error:
            if error.code != 503 or json.load(error).get("status") != "no_model":
                raise
        return
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{target}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                          timeout=4)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise SystemExit(f"code server not serving: {reply.status}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
