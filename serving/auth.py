"""Access control and request bounds, as one pure ASGI middleware in front of every route.

- Each request gets a request id (`X-Request-ID` response header, `scope["state"]["request_id"]`).
- Bodies over `max_request_bytes` → 413, before anything parses them.
- Routes in `ROUTE_ROLES` need an API key (`X-API-Key: ipr_…` or `Authorization: Bearer ipr_…`):
  no key or an unknown key → 401, a key whose role is not allowed → 403. The caller lands in
  `scope["state"]["caller"]`. Everything else (web page, health, metrics, API docs) is public.
- The routes BentoML answers itself (`NATIVE_ROUTES`) get the API's error body and statuses too.
The key file is re-read when it changes (a new file, time or size), so `iprisk keys create` and
`iprisk keys revoke` take effect at once, without a restart.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from data_contracts.application import field_error, pydantic_errors
from pipelines.key_store import KeyStore

NATIVE_ROUTES = frozenset({"/v1/pd"})
"""Routes BentoML answers itself (`@bentoml.api`): the middleware gives their refusals the API's error
body too: BentoML's 400 (the body does not fit the route's input model) becomes 400 when the body is
not JSON and 422 with field errors otherwise, and a 405 gets the JSON body (its `Allow` header kept).
They read JSON only (BentoML would pick another decoder by Content-Type): another media type → 415."""

ROUTE_ROLES: dict[str, frozenset[str]] = {
    "/v1/loans/score": frozenset({"credit_officer"}),
    "/v1/loans/score-batch": frozenset({"credit_officer"}),
    "/v1/collateral/value": frozenset({"credit_officer", "fund_manager"}),
    "/v1/trust/tranches": frozenset({"fund_manager"}),
    "/v1/models": frozenset({"data_scientist"}),
    "/v1/models/reload": frozenset({"data_scientist"}),
    "/v1/monitoring": frozenset({"data_scientist"}),
    "/v1/pd": frozenset({"credit_officer", "data_scientist"}),
    "/v1/noop": frozenset({"credit_officer", "fund_manager", "data_scientist"}),
    "/v1/decisions": frozenset({"credit_officer"}),
    "/v1/decisions/{request_id}": frozenset({"credit_officer"}),
    "/v1/decisions/{request_id}/memo": frozenset({"credit_officer"}),
    "/v1/decisions/{request_id}/replay": frozenset({"credit_officer"}),
    "/v1/trust/settings": frozenset({"fund_manager"}),
    "/v1/trust/pool-from-decisions": frozenset({"fund_manager"}),
}
"""Path (or path template with `{name}` segments) → roles allowed to call it. The single place
access rules live (docs/api.md shows them). Paths not listed are public."""

_TEMPLATES = [(re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(p)) + "$"), roles)
              for p, roles in ROUTE_ROLES.items() if "{" in p]


def roles_for(path: str) -> frozenset[str] | None:
    """The roles allowed on `path` (exact routes first, then templates), or None for a public path."""
    path = path.rstrip("/") or "/"
    roles = ROUTE_ROLES.get(path)
    if roles is not None:
        return roles
    return next((r for rx, r in _TEMPLATES if rx.match(path)), None)


def _json_response(status: int, body: dict[str, Any], request_id: str, extra: list | None = None):
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
               (b"x-request-id", request_id.encode())] + (extra or [])
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body", "body": payload}


def _reshaped(status: int, raw: bytes, headers: list) -> tuple[int, dict[str, Any], list]:
    """A native route's 400 / 405 answer → (status, the API's error body, headers to keep)."""
    if status == 405:
        allow = [(k, v) for k, v in headers if k.lower() == b"allow"]
        return 405, {"error": "Method Not Allowed", "errors": []}, allow
    try:
        detail = json.loads(raw).get("detail")
        errs = pydantic_errors(detail)
    except (ValueError, AttributeError, TypeError):
        errs = []
    if not errs or all(e["rule"] == "json" for e in errs):  # the body is not JSON at all
        return 400, {"error": "the body is not valid JSON", "errors": [field_error("body", "json", None, e["message"]) for e in errs]
                     or [field_error("body", "json", None, raw.decode("utf-8", "replace")[:200])]}, []
    return 422, {"error": f"{len(errs)} error(s) in the request", "errors": errs}, []


def _reshaping(send: Any, rid: str) -> Any:
    """`send` for a native route: 400 and 405 answers are held back and re-sent with the API's error body."""
    held: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def reshape(msg):
        if msg["type"] == "http.response.start" and msg["status"] in (400, 405):
            held.update(msg)
            return
        if not held or msg["type"] != "http.response.body":
            return await send(msg)
        chunks.append(msg.get("body", b""))
        if msg.get("more_body"):
            return
        status, body, keep = _reshaped(held["status"], b"".join(chunks), held.get("headers", []))
        start, out = _json_response(status, {**body, "request_id": rid}, rid, keep)
        await send(start)
        await send(out)

    return reshape


class GuardMiddleware:
    """ASGI middleware: request id, size bound, API-key roles (see module docstring).

    keys_path: the key store's JSON file (re-read when it changes). max_request_bytes: largest body."""

    def __init__(self, app: Any, keys_path: str | Path, max_request_bytes: int):
        self.app = app
        self.keys_path = Path(keys_path)
        self.max_request_bytes = int(max_request_bytes)
        self._store: KeyStore | None = None
        self._stamp: tuple[int, int, int] | None = None

    def keys(self) -> KeyStore:
        try:
            st = os.stat(self.keys_path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # the store writes a new file and renames it
        except FileNotFoundError:
            stamp = (0, 0, -1)
        if self._store is None or stamp != self._stamp:
            self._store = KeyStore(self.keys_path)
            self._stamp = stamp
        return self._store

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())

        async def reply(status: int, error: str, errors: list | None = None, extra: list | None = None):
            start, body = _json_response(status, {"error": error, "request_id": rid, "errors": errors or []}, rid, extra)
            await send(start)
            await send(body)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        max_bytes = self.max_request_bytes
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await reply(400, "bad Content-Length header",
                                   [{"path": "body", "rule": "content_length", "value": length, "message": "not a byte count"}])
            if n > max_bytes:
                return await reply(413, f"request body of {n} bytes exceeds the limit of {max_bytes} bytes",
                                   [{"path": "body", "rule": "max_bytes", "value": n, "message": ""}])
        path = scope.get("path", "")
        roles = roles_for(path)
        if roles is not None:
            key = headers.get("x-api-key")
            auth = headers.get("authorization", "")
            if not key and auth.lower().startswith("bearer "):
                key = auth[7:].strip()
            if not key:
                return await reply(401, "missing API key (send it in the X-API-Key header)",
                                   extra=[(b"www-authenticate", b"ApiKey")])
            caller = self.keys().verify(key)
            if caller is None:
                return await reply(401, "unknown API key", extra=[(b"www-authenticate", b"ApiKey")])
            if caller.role not in roles:
                return await reply(403, f"role '{caller.role}' may not call {path} (needs one of {sorted(roles)})")
            state["caller"] = caller

        if any(ord(c) < 32 or ord(c) == 127 for c in path):
            # BentoML's outer router cannot match such a path (its mount pattern stops at a newline) and
            # would answer a bare text/plain 404: answer the API's documented JSON 404 instead
            return await reply(404, "no such resource: the path holds control characters",
                               [{"path": "path", "rule": "printable", "value": path[:200], "message": ""}])
        native = path.rstrip("/") in NATIVE_ROUTES
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if native and scope.get("method") == "POST" and media and media != "application/json" and not media.endswith("+json"):
            return await reply(415, f"{path} reads a JSON body; Content-Type {media!r} is not JSON",
                               [{"path": "body", "rule": "content_type", "value": media, "message": "send application/json"}])
        if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            chunks, total = [], 0
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return
                chunks.append(msg.get("body", b""))
                total += len(chunks[-1])
                if total > max_bytes:
                    return await reply(413, f"request body exceeds the limit of {max_bytes} bytes")
                if not msg.get("more_body"):
                    break
            body = b"".join(chunks)
            done = False
            original = receive

            async def receive():  # noqa: F811 - replay the buffered body once, then the real channel
                nonlocal done
                if not done:
                    done = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await original()

        out = _reshaping(send, rid) if native else send

        async def send_with_id(msg):
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), rid_header]}
            await out(msg)

        return await self.app(scope, receive, send_with_id)
