"""Health checks of the stack's containers, light enough to run every few seconds on a small
machine (no dagster or mlflow import): `http URL` answers 2xx/3xx, `grpc PORT` is Dagster's
code server answering the gRPC health service, `webserver URL` is the Dagster webserver
answering with every code location loaded (it starts beside the code server and loads the
location once that answers: before, a launch through it would fail), `serving URL` is the
scoring service answering /health (503 "no_model" counts: it serves and follows the registry,
which has no champion before the first training run), `daemon` is every daemon the stack's
instance needs having written a heartbeat since this container started (run through the
entrypoint, which supplies the database password).

`dagster-daemon liveness-check` asks the same question but imports all of Dagster: 24 s per
check on the loaded 2-core machine, most of `make up`'s wait for the daemon, and a core kept
busy by a check every 10 s. It also accepts heartbeats up to 30 minutes old, so a daemon that
was killed and restarted passed it before its threads were back."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

# The daemons deploy/dagster.docker.yaml makes required (dagster's
# get_required_daemon_types: sensors, schedules, backfills, the run queue, run monitoring, run
# retries); each writes a heartbeat every 30 s.
DAEMONS = {"SENSOR", "SCHEDULER", "BACKFILL", "QUEUED_RUN_COORDINATOR", "MONITORING",
           "EVENT_LOG_CONSUMER"}
STALE_SECONDS = 300


def started_at() -> float:
    """When this container's first process started (epoch seconds)."""
    with open("/proc/stat") as stat:
        boot = next(float(line.split()[1]) for line in stat if line.startswith("btime"))
    with open("/proc/1/stat") as stat:
        ticks = float(stat.read().rsplit(")", 1)[1].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def daemon_beats() -> None:
    import psycopg2

    db = psycopg2.connect(host=os.environ["DAGSTER_PG_HOST"], port=os.environ["DAGSTER_PG_PORT"],
                          dbname=os.environ["DAGSTER_PG_DB"], user=os.environ["DAGSTER_PG_USER"],
                          password=os.environ["DAGSTER_PG_PASSWORD"], connect_timeout=4)
    try:
        with db.cursor() as cursor:  # naive UTC timestamps: epoch of their nominal value
            cursor.execute("select daemon_type, extract(epoch from timestamp) "
                           "from daemon_heartbeats")
            beats = {kind: float(at) for kind, at in cursor.fetchall()}
    finally:
        db.close()  # psycopg2's `with` ends the transaction, not the connection
    since = max(started_at(), time.time() - STALE_SECONDS)
    silent = sorted(kind for kind in DAEMONS if beats.get(kind, 0.0) < since)
    if silent:
        raise SystemExit(f"no heartbeat since {time.strftime('%H:%M:%S', time.gmtime(since))} "
                         f"UTC from {', '.join(silent)}")


def locations_loaded(url: str) -> None:
    query = ("{ workspaceOrError { __typename ... on Workspace { locationEntries { name "
             "locationOrLoadError { __typename } } } } }")
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=4) as response:
        workspace = json.load(response)["data"]["workspaceOrError"]
    entries = workspace.get("locationEntries")
    if not entries:
        raise SystemExit(f"no code location in the webserver's workspace: {workspace}")
    waiting = sorted(entry["name"] for entry in entries
                     if (entry["locationOrLoadError"] or {}).get("__typename")
                     != "RepositoryLocation")
    if waiting:
        raise SystemExit(f"code location not loaded yet: {', '.join(waiting)}")


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
    if kind == "webserver":
        locations_loaded(target)
        return
    if kind == "daemon":
        daemon_beats()
        return
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{target}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                          timeout=4)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise SystemExit(f"code server not serving: {reply.status}")


if __name__ == "__main__":
    main(*(sys.argv[1:3] + [""])[:2])
