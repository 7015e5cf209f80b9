"""The ASGI app: routes only; scoring, logging and model following live beside it."""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churn_assets.serving.follower import AliasFollower
from churn_assets.serving.model_set import ModelHolder
from churn_assets.serving.online_store import NO_ID_COLUMN, CustomerFeatures
from churn_assets.serving.prediction_log import PredictionLog
from churn_assets.serving.requests import OutcomesRequest, PredictRequest, problem
from churn_assets.serving.scoring import Answered, NoModel, answer, log_rows, shadow

LOG = logging.getLogger(__name__)
MAX_SHADOW_BACKLOG = 64  # requests waiting for the challenger; past it shadow rows are skipped
INLINE_ROWS = 64  # requests of up to this many rows are scored on the event loop


@dataclass
class Service:
    holder: ModelHolder
    log: PredictionLog
    follower: AliasFollower | None
    store: CustomerFeatures | None
    id_column: str | None  # None: the dataset has no id column, so no online lookups
    api_key: str | None
    shadow_skipped: int = 0
    _shadow: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1))
    _backlog: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_SHADOW_BACKLOG))

    def respond(self, rows) -> Answered:
        models = self.holder.current  # read once: one version set for the whole request
        answered = answer(models, rows, self.id_column)
        if models.serving.log_predictions:
            self.log.submit("prediction_log", log_rows(answered, self.id_column))
            if models.challenger is not None and models.serving.challenger_share <= 0:
                self._shadow_later(models, answered)
        return answered

    def _shadow_later(self, models, answered: Answered) -> None:
        if not self._backlog.acquire(blocking=False):
            self.shadow_skipped += 1
            return

        def run() -> None:
            try:
                result = shadow(models, answered)
                if result is not None:
                    self.log.submit("prediction_log", log_rows(result, self.id_column))
            except Exception:  # the challenger failing must never touch the champion's path
                LOG.exception("shadow scoring failed")
            finally:
                self._backlog.release()

        self._shadow.submit(run)


class BodyLimit:
    """413 for a body over ``serving.max_body_bytes`` before the route parses it: by its
    Content-Length, or counted as a chunked body arrives. Plain ASGI: Starlette's
    ``@app.middleware("http")`` wraps every request and response in extra tasks and streams."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit()
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None or scope["method"] != "POST":
            if length is not None and length.isdigit() and int(length) > limit:
                return await self._refuse(length.decode(), limit)(scope, receive, send)
            return await self.app(scope, receive, send)
        chunks, size = [], 0  # chunked: count what arrives, then hand the body on
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return await self._refuse(f"at least {size}", limit)(scope, receive, send)
            if not message.get("more_body"):
                break
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _refuse(length: str, limit: int) -> JSONResponse:
        return JSONResponse(problem("body", f"the body has {length} bytes, more than "
                                    f"serving.max_body_bytes = {limit}"), 413)


class Json(Response):
    """JSON by orjson straight from the answer's dict (FastAPI's default first walks every
    value through ``jsonable_encoder``: most of a 1,000-row answer's time)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY,
                            default=jsonable_encoder)


def _model_error(error: Exception) -> JSONResponse:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = lines[-1] if lines else type(error).__name__
    return JSONResponse(problem("rows", f"the model could not score these rows: {message}"),
                        422)


def _answer_json(answered: Answered) -> dict[str, Any]:
    champion = answered.models.get("champion") or next(iter(answered.models.values()))
    return {"request_id": answered.request_id, "model": champion.describe(),
            "predictions": answered.payload()}


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.log.start()
        if service.store is not None:  # Feast's registry read, off the requests
            service.store.import_library()  # before the threads: each would import Feast
            threading.Thread(target=service.store.warm, daemon=True).start()
        if service.follower is not None:
            service.follower.start()
        yield
        if service.follower is not None:
            service.follower.stop()
        service._shadow.shutdown(wait=True)
        service.log.stop()

    app = FastAPI(title="churn_assets scoring service", lifespan=lifespan,
                  description="The @champion churn model, followed without restarts.")
    app.add_middleware(BodyLimit, limit=lambda: service.holder.current.serving.max_body_bytes)

    def score(rows, features: dict[str, Any] | None = None) -> Response:
        try:
            body = _answer_json(service.respond(rows))
        except NoModel as error:
            return JSONResponse({"detail": str(error)}, 503)
        except (ValueError, KeyError, TypeError) as error:
            return _model_error(error)
        except Exception as error:
            from mlflow.exceptions import MlflowException

            if isinstance(error, MlflowException):
                return _model_error(error)
            raise
        if features is not None:
            body["features"] = features
        return Json(body)

    async def score_off_loop(rows, features: dict[str, Any] | None = None) -> Response:
        """A few rows are scored on the event loop (a threadpool hop costs ~0.5 ms of CPU,
        more than the rest of the route around the model); many in a worker thread, so one
        large request does not hold up the loop while the model's library works."""
        if len(rows) <= INLINE_ROWS:
            return score(rows, features)
        return await run_in_threadpool(score, rows, features)

    @app.post("/predict")
    async def predict(body: PredictRequest):
        limit = service.holder.current.serving.max_rows
        if body.row_count == 0:
            return JSONResponse(problem(body.field, "no rows"), 422)
        if body.row_count > limit:
            return JSONResponse(problem(body.field, f"{body.row_count} rows, more than "
                                        f"serving.max_rows = {limit}"), 422)
        return await score_off_loop(body.frame())

    def lookup(customer_id: str) -> Response:
        if service.id_column is None or service.store is None:
            return JSONResponse({"detail": NO_ID_COLUMN}, 404)
        row = service.store.get(customer_id)
        if row is None:
            return JSONResponse({"detail": f"no customer {customer_id!r} in the online "
                                           "store"}, 404)
        return score(service.store.frame(row), features=row)

    @app.get("/customers/{customer_id}")
    async def customer(customer_id: str):
        if service.store is not None and not service.store.ready:
            # Opening Feast or re-reading its registry (S3 in production) may take seconds.
            return await run_in_threadpool(lookup, customer_id)
        return lookup(customer_id)

    @app.get("/version")
    def version():
        models = service.holder.current
        return {"champion": models.champion.describe() if models.champion else None,
                "challenger": models.challenger.describe() if models.challenger else None,
                "challenger_share": models.serving.challenger_share}

    @app.get("/health")
    def health():
        models, follower = service.holder.current, service.follower
        body = {"status": "ok" if models.champion else "no_model",
                "champion_version": models.champion.version if models.champion else None,
                "prediction_log": service.log.stats(), "shadow_skipped": service.shadow_skipped,
                "last_poll": follower.last_poll.isoformat() if follower and
                follower.last_poll else None,
                "poll_error": follower.last_error if follower else None}
        return JSONResponse(body, 200 if models.champion else 503)

    @app.post("/outcomes")
    def outcomes(body: OutcomesRequest, x_api_key: str | None = Header(None)):
        if service.api_key is None:
            return JSONResponse({"detail": "writes are off: set CHURN_SERVING_API_KEY"}, 403)
        if x_api_key is None or not hmac.compare_digest(x_api_key, service.api_key):
            return JSONResponse({"detail": "missing or wrong X-API-Key header"}, 401)
        rows = body.rows()
        service.log.submit("outcomes", rows)
        return {"accepted": len(rows)}

    return app
