"""A partner CBO's own FHIR server, as small as the Direct exchange needs: Task read and
update-as-create, bearer-token auth, and failures to order (a 503, a dropped connection, a 422 with
an OperationOutcome). Tests drive it in-process (``TestClient(server.app)`` is an httpx client) or
serve it with uvicorn for the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

FJ = "application/fhir+json"


def outcome(status: int, message: str, expression: str | None = None) -> JSONResponse:
    issue = {"severity": "error", "code": "invalid" if status < 500 else "transient", "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return JSONResponse({"resourceType": "OperationOutcome", "issue": [issue]}, status_code=status, media_type=FJ)


@dataclass
class PartnerServer:
    token: str = "partner-secret"
    tasks: dict[str, dict] = field(default_factory=dict)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, authorization)
    fail_next: list[object] = field(default_factory=list)  # 503, 422 ... ("drop": see client())

    def __post_init__(self):
        app = FastAPI()

        @app.middleware("http")
        async def guard(request: Request, call_next):
            self.log.append((request.method, request.url.path, request.headers.get("authorization")))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return outcome(401, "unknown token")
            if self.fail_next:
                failure = self.fail_next.pop(0)
                return outcome(int(failure), "the Task is not acceptable here" if int(failure) < 500
                               else "the server is down for maintenance", "Task.owner" if int(failure) < 500 else None)
            return await call_next(request)

        @app.put("/fhir/Task/{tid}")
        async def put_task(tid: str, request: Request):
            body = await request.json()
            if body.get("resourceType") != "Task" or body.get("id") != tid:
                return outcome(400, "not this Task", "Task.id")
            created = tid not in self.tasks
            self.tasks[tid] = body
            return JSONResponse(body, status_code=201 if created else 200, media_type=FJ)

        @app.get("/fhir/Task/{tid}")
        def get_task(tid: str):
            if tid not in self.tasks:
                return outcome(404, f"Task/{tid} is not here")
            return JSONResponse(self.tasks[tid], media_type=FJ)

        self.app = app

    def puts(self) -> list[str]:
        return [path for method, path, _ in self.log if method == "PUT"]

    def client(self) -> httpx.Client:
        """An httpx client reaching this server in-process; a "drop" in fail_next is a connection
        that fails before any answer (httpx.ConnectError), as a partner server that is down."""
        inner = TestClient(self.app)

        def handle(request: httpx.Request) -> httpx.Response:
            if self.fail_next and self.fail_next[0] == "drop":
                self.fail_next.pop(0)
                self.log.append((request.method, request.url.path, "dropped"))
                raise httpx.ConnectError("connection refused", request=request)
            r = inner.request(request.method, str(request.url), headers=dict(request.headers), content=request.content)
            return httpx.Response(r.status_code, headers=r.headers, content=r.content)

        return httpx.Client(transport=httpx.MockTransport(handle))
