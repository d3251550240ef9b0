"""The live service's HTTP face: the endpoints the old clients already call, and a few new ones.

Users moving from the older service keep their scripts: ``POST /produce_entry``,
``/produce_move`` and ``/produce_exit`` take the same bodies (``{"id": "997", "ts": 192326400,
"x": 2, "y": 3}``) and put the event on its topic. The retail demo's scenario player's
``POST /scenario?recalculate_time=true`` plays a scripted customer among the simulated ones.
Operators get ``/healthcheck`` (alive), ``/ready`` (the broker connection is up), ``/state``,
``/start`` and ``/stop`` (the simulated crowd) and ``/metrics`` (Prometheus).

Bad bodies get 422 with ``{"detail": [{"field": ..., "reason": ...}]}``. With a token set, every
POST needs ``Authorization: Bearer <token>``. :func:`create_app` builds the app over a running
:class:`~customersim.service.stream.LiveStream`; :mod:`customersim.service.server` serves it.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from customersim.frame import EVENT_TYPES
from customersim.mqtt import MqttSettings, PublisherStats, encode_payload
from customersim.scenarios import ScenarioError, parse
from customersim.service.metrics import CONTENT_TYPE, ServiceCollector, exposition, make_registry
from customersim.service.stream import LiveStream, QueueFull, ScenarioConflict

log = logging.getLogger("customersim.http")

# The old service's endpoint names: "entry" for enter events.
ENDPOINTS = {
    "enter": "/produce_entry",
    "move": "/produce_move",
    "exit": "/produce_exit",
    "focus": "/produce_focus",
}


class _Event(BaseModel):
    """What the old service took: the customer id, and the time (default now)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="customer id (sent as a string; a number is taken as its text)")
    ts: int | None = Field(default=None, ge=0, description="epoch seconds (default: now)")

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the customer id must not be blank")
        return value


class _Move(_Event):
    x: int = Field(description="sensor cell x")
    y: int = Field(description="sensor cell y")


class _Focus(_Event):
    dep: str = Field(description="department")


_BODIES: dict[str, type[_Event]] = {"enter": _Event, "move": _Move, "exit": _Event, "focus": _Focus}
SCENARIO_EXAMPLE = {
    "customer": {"customer_id": "3"},
    "path": [
        {"type": "ENTER", "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:01:53.955760"},
        {"type": "MOVE", "location": {"x": 3, "y": 4}, "timestamp": "2021-04-11T10:02:30"},
        {"type": "EXIT", "location": {"x": 0, "y": 0}, "timestamp": "2021-04-11T10:04:00"},
    ],
}


class _UnauthorizedError(Exception):
    """Raised by the token check; answered with 401."""


def _problems(*items: tuple[str, str], status: int = 422) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": [{"field": f, "reason": r} for f, r in items]})


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query")] or ["body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def create_app(
    stream: LiveStream,
    stats: Callable[[], PublisherStats | None],
    settings: MqttSettings,
    *,
    token: str | None = None,
) -> FastAPI:
    """The FastAPI app of a live service.

    Args:
        stream: the running stream (events go in there).
        stats: the publisher's statistics now (None before it started).
        settings: the MQTT settings (topics, broker address, mock mode).
        token: the bearer token POST endpoints need; None = none.
    """
    app = FastAPI(
        title="customersim live service",
        description="Simulated shoppers on MQTT, with the old service's endpoints, scripted "
        "scenarios, health, readiness and Prometheus metrics.",
        version="1",
    )
    layout = stream.layout
    registry = make_registry(ServiceCollector(stream, stats, mock=settings.mock))

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, error: RequestValidationError) -> JSONResponse:
        return _problems(*[(_field_name(tuple(e["loc"])), e["msg"]) for e in error.errors()])

    def authorized(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise _UnauthorizedError

    @app.exception_handler(_UnauthorizedError)
    async def _unauthorized(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=401,
            content={"detail": "this endpoint needs the service's token: Authorization: Bearer <token>"},
            headers={"WWW-Authenticate": "Bearer"},
        )

    guarded = [Depends(authorized)]

    def produce(event: str) -> Callable[..., Any]:
        model = _BODIES[event]

        async def handler(request: Request) -> Any:
            data = await _json_body(request)
            if isinstance(data, JSONResponse):
                return data
            try:
                body = model.model_validate(data)
            except ValidationError as error:
                return _problems(*[(_field_name(tuple(e["loc"])), e["msg"]) for e in error.errors()])
            ts = int(stream.store_now()) if body.ts is None else body.ts
            x = getattr(body, "x", None)
            y = getattr(body, "y", None)
            if x is not None and not 0 <= x < layout.width:
                return _problems(("x", f"{x} is outside the store: expected 0 to {layout.width - 1}"))
            if y is not None and not 0 <= y < layout.height:
                return _problems(("y", f"{y} is outside the store: expected 0 to {layout.height - 1}"))
            extra = {"dep": body.dep} if isinstance(body, _Focus) else None
            payload = encode_payload(event, body.id, ts, x, y, extra)
            try:
                stream.inject(event, body.id, ts, x or 0, y or 0, extra)
            except QueueFull as error:
                return JSONResponse(status_code=503, content={"detail": f"not queued: {error}"})
            topic = settings.topics.for_event(event)
            log.info("hand-made event queued: %s %s", topic, payload.decode("utf-8"))
            return {"topic": topic, "payload": json.loads(payload)}

        handler.__name__ = f"produce_{event}"
        return handler

    for event in EVENT_TYPES:
        if event in ENDPOINTS:
            app.post(
                ENDPOINTS[event],
                dependencies=guarded,
                summary=f"Publish one {event} event on its topic now",
                openapi_extra=_body_schema(_BODIES[event].model_json_schema()),
            )(produce(event))

    @app.post(
        "/scenario",
        dependencies=guarded,
        status_code=201,
        summary="Play a scripted customer among the simulated ones",
        openapi_extra=_body_schema({"type": "object"}, SCENARIO_EXAMPLE),
    )
    async def post_scenario(
        request: Request,
        recalculate_time: bool = Query(False, description="shift the path to start now"),
    ) -> Any:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        try:
            scenario = parse(data, layout, name="http")
            script = stream.schedule(scenario, recalculate_time=recalculate_time)
        except ScenarioError as error:
            return _problems((error.field, error.reason))
        except ScenarioConflict as error:
            return JSONResponse(status_code=409, content={"detail": str(error)})
        described = script.describe(stream.store_now())
        log.info(
            "scenario %d taken on: customer %s, %d events from %s",
            script.id,
            script.customer_id,
            script.events,
            described["start"],
        )
        return JSONResponse(status_code=201, content=described)

    @app.get("/scenario", summary="The scripted paths not yet played to the end")
    def get_scenarios() -> Any:
        return stream.scheduled()

    @app.get("/healthcheck", summary="Alive")
    def healthcheck() -> Any:
        return {"status": "ok"}

    @app.get("/ready", summary="200 while the broker connection is up, 503 with the reason otherwise")
    def ready() -> Any:
        if settings.mock:
            return {"ready": True, "broker": "mock mode: messages are logged, nothing to connect"}
        now = stats()
        if now is not None and now.connected:
            return {"ready": True, "broker": settings.address}
        if now is None:
            reason = "the publisher has not started yet"
        else:
            reason = now.error or now.retrying or f"not connected to broker {settings.address}"
        return JSONResponse(status_code=503, content={"ready": False, "reason": reason})

    @app.get("/state", summary="The simulated crowd, scripted paths, broker and counters")
    def state() -> Any:
        return _state(stream, stats(), settings)

    def switch(on: bool) -> Any:
        if not stream.has_simulation:
            return JSONResponse(
                status_code=409, content={"detail": "this run has no simulated crowd (--no-simulation)"}
            )
        changed = stream.resume() if on else stream.pause()
        if changed:
            log.info("simulated crowd %s over HTTP", "resumed" if on else "paused")
        return {**_state(stream, stats(), settings), "changed": changed}

    @app.post("/start", dependencies=guarded, summary="Resume the simulated crowd")
    def start() -> Any:
        return switch(True)

    @app.post("/stop", dependencies=guarded, summary="Pause the simulated crowd where it stands")
    def stop() -> Any:
        return switch(False)

    @app.get("/metrics", summary="Prometheus text format")
    def metrics() -> Response:
        return Response(content=exposition(registry), media_type=CONTENT_TYPE)

    return app


async def _json_body(request: Request) -> Any:
    """The request's JSON body whatever its Content-Type (old clients' curl lines often send none)."""
    raw = await request.body()
    if not raw.strip():
        return _problems(("body", "missing: send a JSON object"))
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = (
            f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        )
        return _problems(("body", f"not valid JSON{where}"))


def _body_schema(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def _state(stream: LiveStream, stats: PublisherStats | None, settings: MqttSettings) -> dict[str, Any]:
    broker: dict[str, Any] = {"mock": settings.mock, "address": None if settings.mock else settings.address}
    if stats is not None:
        broker.update(
            connected=stats.connected,
            published=stats.published,
            acknowledged=stats.acknowledged,
            failed=stats.failed,
            reconnects=stats.reconnects,
            error=stats.error,
        )
    return {**stream.state(), "broker": broker}
