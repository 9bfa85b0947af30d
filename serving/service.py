"""The BentoML service, built by a factory: `build_service(cfg)` → the service class.

The /v1 API and the web page are one FastAPI app mounted with `@bentoml.asgi_app` (exact routes,
our own 401/403/413/422 bodies, a clean OpenAPI 3.1 document at /v1/openapi.json); BentoML gives
/healthz, /readyz, /livez, /metrics, its /docs.json, worker management, and the adaptive-batching
PD-only endpoint `POST /v1/pd` (`@bentoml.api(batchable=True)`). docs/api.md says why.

Nothing here runs at import: the request models (with the configured bounds), the app, the
routes and the guard middleware are made from the frozen `ServingConfig` passed in. BentoML's
import target is `serving.entry:IpriskService`, which calls this factory once. (No
`from __future__ import annotations` here: FastAPI must see the request models built inside the
factory as real annotations, not as names to look up in this module.)
"""

import datetime as dt
import json
import logging
import os
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import bentoml
from fastapi import FastAPI, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_contracts.application import (
    check_applications,
    check_batch,
    check_patents,
    check_pool,
    field_error,
    fill_application,
    pydantic_errors,
)
from data_contracts.contract import load_contract
from data_contracts.errors import IpriskError, PortfolioError, RegistryError
from models.wording import explain_decision
from pipelines.monitoring.overview import data_scientist_overview
from pipelines.serving_config import ServingConfig
from pipelines.tranches_job import load_settings, read_targets
from serving import schemas
from serving.auth import NATIVE_ROUTES, ROUTE_ROLES, GuardMiddleware
from serving.metrics import observe as observe_decisions
from serving.metrics import observe_batch
from serving.metrics import register as register_metrics
from serving.runtime import BundleLoader, RecordNotFound, RequestRejected, Runtime, open_bundle

STATIC = Path(__file__).parent / "static"
STARTUP_ERROR_FILE = "IPRISK_STARTUP_ERROR_FILE"
"""Environment variable: where the service writes its one-line refusal to start (read by `iprisk serve`)."""

log = logging.getLogger("iprisk.serving")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (`iprisk keys create --role ROLE`)")
_STATUS = {400: "Body is not parseable JSON", 401: "No or unknown API key", 403: "Key's role may not call this",
           405: "Method not allowed on this path (the Allow header lists the allowed ones)", 413: "Body too large",
           422: "Request broke the contracts (every broken rule with its path, rule and value)",
           503: "Model registry unavailable"}
_REQUEST_ID = {"X-Request-ID": {"description": "Request id (also `request_id` in the body and in the audit log)",
                                "required": True, "schema": {"type": "string"}}}
_HEADERS = {401: {"WWW-Authenticate": {"description": "How to authenticate: `ApiKey`", "required": True,
                                       "schema": {"type": "string"}}},
            405: {"Allow": {"description": "The methods this path allows", "required": True, "schema": {"type": "string"}}}}
_ERRS = {200: {"headers": _REQUEST_ID},
         **{s: {"model": schemas.ErrorBody, "description": d, "headers": {**_REQUEST_ID, **_HEADERS.get(s, {})}}
            for s, d in _STATUS.items()}}
"""Every status an operation of the /v1 API can answer, documented per operation with its headers.
(A 500 is a bug: it is logged with the request id and not part of the contract.)"""


def _document_native_routes(service: Any) -> None:
    """BentoML writes /docs.json itself, and lists its generic statuses (400, 404, 500) for the
    native route `POST /v1/pd`; make the entry say what the route answers (the statuses and error
    body of the rest of the API, the guard reshapes BentoML's) and that it needs a key."""
    base = type(service)
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}

    class DocumentedService(base):  # same slots: the instance only changes class
        __slots__ = ()

        @property
        def openapi_spec(self) -> Any:
            spec = base.openapi_spec.fget(self)
            for path in NATIVE_ROUTES:
                op = spec.paths[path].post
                op["responses"] = {200: {**op["responses"][200], "headers": _REQUEST_ID},
                                   **{s: {**{k: v for k, v in e.items() if k != "model"}, "content": ref}
                                      for s, e in _ERRS.items() if s != 200}}
                op["responses"][415] = {"description": "Body is not JSON (by its Content-Type)", "headers": _REQUEST_ID,
                                        "content": ref}
                op["security"] = [{_key_header.scheme_name: []}]
                op["summary"] = "PD only, from feature rows. " + _roles(path)
            return spec

    service.__class__ = DocumentedService
_GET_ERRS = _ERRS | {
    404: {"model": schemas.ErrorBody, "description": "No scored application with this request id in the audit log",
          "headers": _REQUEST_ID}}
"""Statuses of the routes that read one decision (a body sent with a GET is still measured: 400, 413)."""
_PUBLIC_ERRS = {s: v for s, v in _ERRS.items() if s not in (401, 403, 422)}
"""Statuses of a public read-only route (no key, no parameters)."""
_REQUEST_ID_PATH = PathParam(..., pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Request id of the decision (its X-Request-ID)")


def _DAY_QUERY(description: str):
    """A day in a query string: ISO 8601 `YYYY-MM-DD` only (pydantic's lax date would read `0` as 1970-01-01)."""
    return Query(description=description, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", json_schema_extra={"format": "date"})


def _day(name: str, value: str | None) -> dt.date | None:
    """`value` of query parameter `name` as a date; a day that does not exist (2024-02-30) is a 422."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RequestRejected([field_error(f"query.{name}", "date", value, "not a calendar day (YYYY-MM-DD)")]) from None


def _roles(path: str) -> str:
    return "Roles: " + ", ".join(sorted(ROUTE_ROLES[path])) + "."


def _error(status: int, request: Request, error: str, errors: list | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    rid = request.scope.get("state", {}).get("request_id")
    return JSONResponse({"error": error, "request_id": rid, "errors": errors or []}, status_code=status, headers=headers)


def _rid(request: Request) -> str:
    return request.scope["state"]["request_id"]


def _caller(request: Request) -> Any:
    return request.scope.get("state", {}).get("caller")


def _loan_id(rid: str, i: int = 0) -> str:
    return f"L{int(rid[:10], 16) % 10**9:09d}{i:03d}"


def _json(body: dict) -> JSONResponse:
    return JSONResponse(body)  # the guard middleware adds X-Request-ID


def _api(cfg: ServingConfig) -> FastAPI:
    """The FastAPI app with its error handlers (routes are added by `build_service`)."""
    api = FastAPI(
        title="iprisk scoring API",
        version="1.0.0",
        description="PD, LGD, EL, limits, prices and reasons for IP-pledge loans; collateral values; trust-plan tranches. "
                    "Send an API key in `X-API-Key`. Errors: 400 unparseable body, 401 no/unknown key, 403 role not "
                    "allowed, 405 wrong method, 413 body too large, 422 contract rules broken (every error with path, "
                    "rule and value), 503 registry unavailable.",
        openapi_url="/v1/openapi.json",
        docs_url=None,  # FastAPI's Swagger page loads from a CDN; BentoML's bundled one at / shows these routes
        redoc_url=None,
    )

    @api.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        errs = pydantic_errors(raw)
        if errs and all(e["rule"] == "json" for e in errs):  # the body is not JSON at all: 400, not 422
            where = [f"{e.get('msg', 'JSON decode error')} ({(e.get('ctx') or {}).get('error', '')}, character {e['loc'][-1]})"
                     for e in raw]
            return _error(400, request, "the body is not valid JSON", [field_error("body", "json", None, w) for w in where])
        return _error(422, request, f"{len(errs)} error(s) in the request", errs)

    @api.exception_handler(RequestRejected)
    async def _on_rejected(request: Request, exc: RequestRejected) -> JSONResponse:
        return _error(exc.status, request, f"{len(exc.errors)} error(s) in the request", exc.errors)

    @api.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        errors = None
        if exc.status_code == 400:  # FastAPI could not parse the body at all (not JSON, bad encoding)
            errors = [field_error("body", "json", None, str(exc.detail))]
        return _error(exc.status_code, request, str(exc.detail), errors, headers=getattr(exc, "headers", None))

    @api.exception_handler(IpriskError)
    async def _on_iprisk(request: Request, exc: IpriskError) -> JSONResponse:
        status = 503 if isinstance(exc, RegistryError) else 404 if isinstance(exc, RecordNotFound) else 422
        return _error(status, request, f"{type(exc).__name__}: {exc}")

    @api.exception_handler(Exception)
    async def _on_bug(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug, logged
        log.exception("unhandled error")
        return _error(500, request, "internal error; see the server log with this request id")

    return api


def build_service(cfg: ServingConfig, bundle_loader: BundleLoader = open_bundle) -> Any:
    """The BentoML service class for `cfg`; `bundle_loader(cfg)` loads the models at start
    (default: the registry's champions or pinned versions)."""
    Application, BatchRequest, CollateralRequest, TrancheRequest = schemas.bounded_requests(cfg)
    api = _api(cfg)

    @bentoml.service(
        name="iprisk",
        workers=cfg.workers,
        traffic={"timeout": 120},
        logging={"access": {"enabled": False}},
    )
    @bentoml.asgi_app(api, path="/")
    class IpriskService:
        """Loads the champions (or pinned versions) and the contracts; refuses to start if they do not fit."""

        def __init__(self) -> None:
            try:
                self.rt = Runtime.open(cfg, bundle_loader)
                register_metrics()  # the decision series on /metrics, listed before the first decision
                self.rt.score_batcher.on_batch = partial(observe_batch, "decisions")
                self.rt.pd_batcher.on_batch = partial(observe_batch, "pd")
            except IpriskError as e:
                target = os.environ.get(STARTUP_ERROR_FILE)
                if target:  # started by `iprisk serve`: hand it the one-line reason and leave quietly
                    Path(target).write_text(f"{type(e).__name__}: {e}\n{e.exit_code}\n", encoding="utf-8")
                    os._exit(e.exit_code)
                raise

        # -- loans -----------------------------------------------------------------------------
        @api.post("/v1/loans/score", response_model=schemas.ScoreResponse, tags=["loans"], responses=_ERRS,
                  dependencies=[Security(_key_header)], summary="Score one loan application",
                  description="PD, grade, LGD, EAD, EL, largest approvable amount, price, recommendation, reasons and "
                              "collateral values for one application. " + _roles("/v1/loans/score"))
        async def score(self, application: Application, request: Request):  # type: ignore[valid-type]
            rid = _rid(request)
            app = fill_application(application.model_dump(mode="json"), _loan_id(rid))
            errors = check_applications([app])
            if errors:
                raise RequestRejected(errors)
            decisions, versions = await self.rt.score(rid, _caller(request), [app], "loans/score")
            observe_decisions(decisions)
            narrative = explain_decision(decisions[0], app, self.rt.decision_config)
            return _json({"request_id": rid, "model_versions": versions, "decision": decisions[0], "narrative": narrative})

        @api.post("/v1/loans/score-batch", response_model=schemas.BatchResponse, tags=["loans"], responses=_ERRS,
                  dependencies=[Security(_key_header)], summary="Score several applications",
                  description=f"Up to {cfg.max_batch} applications, scored together. " + _roles("/v1/loans/score-batch"))
        async def score_batch(self, batch: BatchRequest, request: Request):  # type: ignore[valid-type]
            rid = _rid(request)
            apps = [fill_application(a.model_dump(mode="json"), _loan_id(rid, i))
                    for i, a in enumerate(batch.applications)]
            errors = check_applications(apps, lambda i: f"applications[{i}].") + check_batch(apps)
            if errors:
                raise RequestRejected(errors)
            decisions, versions = await self.rt.score(rid, _caller(request), apps, "loans/score-batch")
            observe_decisions(decisions)
            return _json({"request_id": rid, "model_versions": versions, "decisions": decisions})

        # -- decision history, memo, replay ------------------------------------------------------
        @api.get("/v1/decisions", response_model=schemas.DecisionList, tags=["decisions"], responses=_GET_ERRS,
                 dependencies=[Security(_key_header)], summary="Recent decisions from the audit log",
                 description="Scored applications (`POST /v1/loans/score`), newest first: request id, time, officer, firm, "
                             "amount, recommendation. `scope=mine` (default) lists the caller's own (by key name), "
                             "`scope=all` everyone's. " + _roles("/v1/decisions"))
        def decision_list(self, request: Request,
                          scope: Annotated[Literal["mine", "all"], Query(description="mine: the caller's decisions; all: everyone's")] = "mine",
                          limit: Annotated[int, Query(ge=1, le=100, description="Rows per page")] = 20,
                          offset: Annotated[int, Query(ge=0, le=10**9, description="Rows to skip")] = 0,
                          since: Annotated[Optional[str], _DAY_QUERY("From this day (UTC), inclusive")] = None,
                          until: Annotated[Optional[str], _DAY_QUERY("Up to this day (UTC), inclusive")] = None):
            since, until = _day("since", since), _day("until", until)
            caller = _caller(request)
            who = None if scope == "all" else (caller.name if caller else "")
            end = None if until is None or until >= dt.date.max else (until + dt.timedelta(days=1)).isoformat()
            page = self.rt.decisions(who, limit, offset, since.isoformat() if since else None, end)
            return _json({"request_id": _rid(request), "scope": scope, **page})

        @api.get("/v1/decisions/{request_id}", response_model=schemas.DecisionRecordResponse, tags=["decisions"],
                 responses=_GET_ERRS, dependencies=[Security(_key_header)], summary="One audited decision",
                 description="The application as scored, the decision as answered, its model versions, and the decision "
                             "in words. " + _roles("/v1/decisions/{request_id}"))
        def decision_get(self, request: Request, request_id: str = _REQUEST_ID_PATH):
            rec = self.rt.decision_record(request_id)
            return _json({"request_id": _rid(request), "model_versions": rec.model_versions, "record": rec.as_dict(),
                          "narrative": explain_decision(rec.outputs, rec.inputs, self.rt.decision_config)})

        @api.get("/v1/decisions/{request_id}/memo", response_model=None, tags=["decisions"],
                 dependencies=[Security(_key_header)], summary="The decision memo for the credit file (HTML, A4)",
                 responses={**_GET_ERRS,
                            200: {**_GET_ERRS[200], "content": {"text/html": {"schema": {"type": "string"}}},
                                  "description": "One-page memo: application summary, decision and rule in words, figures, "
                                                 "reasons, collateral, model versions, request id and time. Rendered from the "
                                                 "audit record, so the same request id always gives the same bytes; print it "
                                                 "or save it as PDF from the browser."}},
                 description="HTML memo of one scored application, built from its audit record. " + _roles("/v1/decisions/{request_id}/memo"))
        def decision_memo(self, request_id: str = _REQUEST_ID_PATH):
            return HTMLResponse(self.rt.memo(self.rt.decision_record(request_id)))

        @api.post("/v1/decisions/{request_id}/replay", response_model=schemas.ReplayResponse, tags=["decisions"],
                  responses={**_GET_ERRS, 503: _ERRS[503]}, dependencies=[Security(_key_header)],
                  summary="Replay a decision with its recorded model versions",
                  description="Re-scores the recorded application with the recorded model versions (as `iprisk audit replay`) "
                              "and lists every difference from the recorded decision; also says whether the memo is "
                              "reproduced. Nothing is written. " + _roles("/v1/decisions/{request_id}/replay"))
        def decision_replay(self, request: Request, request_id: str = _REQUEST_ID_PATH):
            rec = self.rt.decision_record(request_id)
            return _json({"request_id": _rid(request), "model_versions": rec.model_versions,
                          "replayed_request_id": rec.request_id, **self.rt.replay(rec)})

        # -- collateral, trust plans --------------------------------------------------------------
        @api.post("/v1/collateral/value", response_model=schemas.CollateralResponse, tags=["collateral"],
                  responses=_ERRS, dependencies=[Security(_key_header)], summary="Value patents as collateral",
                  description="Legal, technical, economic and value scores per patent, expected liquidation value and "
                              "the LTV cap. " + _roles("/v1/collateral/value"))
        def collateral(self, body: CollateralRequest, request: Request):  # type: ignore[valid-type]
            rid = _rid(request)
            data = body.model_dump(mode="json")
            patents = [{**p, "firm_id": p.get("firm_id") or "UNKNOWN"} for p in data["patents"]]
            errors = check_patents(patents)
            if errors:
                raise RequestRejected(errors)
            result = self.rt.value_collateral(rid, _caller(request), patents, data.get("as_of"))
            return _json({"request_id": rid, "model_versions": self.rt.versions, "collateral": result})

        @api.post("/v1/trust/tranches", response_model=schemas.TrancheResponse, tags=["trust"], responses=_ERRS,
                  dependencies=[Security(_key_header)], summary="Size a trust plan's tranches",
                  description="The tranche table and loss distribution of a pool, as `iprisk tranches`. "
                              + _roles("/v1/trust/tranches"))
        def tranches(self, body: TrancheRequest, request: Request):  # type: ignore[valid-type]
            rid = _rid(request)
            data = body.model_dump(mode="json")
            errors = check_pool(data["pool"])  # the schema bounds `paths` by serving.max_paths
            if errors:
                raise RequestRejected(errors)
            try:
                result = self.rt.tranches(rid, _caller(request), data)
            except PortfolioError as e:
                raise RequestRejected([field_error("body", "portfolio", None, str(e))]) from e
            return _json({"request_id": rid, "model_versions": {}, "result": result})

        @api.get("/v1/trust/settings", response_model=schemas.TrustSettingsResponse, tags=["trust"],
                 responses=_GET_ERRS, dependencies=[Security(_key_header)], summary="Investor classes, stress scenarios, engines",
                 description="What a tranche request can ask for: the default investor classes (pipelines/tranche_targets.yaml) "
                             "with their targets, the standard stress scenarios (tranches.stress_scenarios), the engines and "
                             "their defaults, and the pool contract's columns. " + _roles("/v1/trust/settings"))
        def trust_settings(self, request: Request):
            st = load_settings()
            classes = [{"name": c.name, "investor": c.investor, "basis": c.basis, "target": c.target, "coupon": c.coupon}
                       for c in read_targets()]
            pool_cols = [schemas.column_form(c, not c.nullable) for c in load_contract("pool").columns]
            return _json({"request_id": _rid(request), "classes": classes,
                          "stress_scenarios": [dict(s) for s in st.stress_scenarios],
                          "methods": ["lhp", "exact", "mc"], "method": st.method, "correlation": st.correlation,
                          "paths": min(st.paths, self.rt.cfg.max_paths), "max_paths": self.rt.cfg.max_paths,
                          "max_pool": self.rt.cfg.max_pool, "currency": st.currency, "pool_columns": pool_cols})

        @api.get("/v1/trust/pool-from-decisions", response_model=schemas.PoolFromDecisionsResponse, tags=["trust"],
                 responses=_GET_ERRS, dependencies=[Security(_key_header)], summary="A pool from the loans the service has scored",
                 description="Pool rows (pool contract) from the audit log's scored applications: the latest decision per firm, "
                             "kept when its recommendation is one of `include`; exposure, PD and LGD as the serving champions "
                             "decided them. " + _roles("/v1/trust/pool-from-decisions"))
        def pool_from_decisions(self, request: Request,
                                limit: Annotated[int, Query(ge=1, le=5000, description="Most loans in the pool")] = 500,
                                include: Annotated[list[Literal["approve", "refer", "decline"]], Query(
                                    description="Recommendations to keep (repeat the parameter)")] = ["approve", "refer"]):  # noqa: B006
            res = self.rt.pool_from_decisions(min(limit, self.rt.cfg.max_pool), tuple(include))
            return _json({"request_id": _rid(request), **res,
                          "source": "audit log: latest scored application per firm, recommendation in " + ", ".join(include)})

        # -- models ----------------------------------------------------------------------------
        @api.get("/v1/models", response_model=schemas.ModelsResponse, tags=["models"], responses=_ERRS,
                 dependencies=[Security(_key_header)], summary="Serving model versions and validation metrics",
                 description=_roles("/v1/models"))
        def models(self, request: Request):
            return _json({"request_id": _rid(request), **self.rt.models()})

        @api.post("/v1/models/reload", response_model=schemas.ModelsResponse, tags=["models"], responses=_ERRS,
                  dependencies=[Security(_key_header)], summary="Reload champions (or pinned versions) from the registry",
                  description=_roles("/v1/models/reload"))
        def reload(self, request: Request):
            self.rt.reload()
            return _json({"request_id": _rid(request), **self.rt.models()})

        @api.post("/v1/noop", include_in_schema=False)
        async def noop(self, request: Request):
            """Benchmark baseline (only with `serving.bench_endpoints`): reads the JSON body, does nothing."""
            if not self.rt.cfg.bench_endpoints:
                return _error(404, request, "Not Found")
            body = await request.body()
            json.loads(body or b"{}")
            return _json({"request_id": _rid(request), "ok": True})

        @api.get("/v1/monitoring", response_model=schemas.MonitoringOverview, tags=["models"], responses=_ERRS,
                 dependencies=[Security(_key_header)], summary="Model versions, gate verdicts and the latest monitoring run",
                 description="The data scientist's page: per book model the serving version, its aliases and the recent "
                             "versions with their promotion-gate verdicts and reasons (with where their runs and validation "
                             "reports are); the latest `iprisk monitor` run's windows, verdict, breaches, back-test and plots "
                             "(PNG, base64), or null before the first run. " + _roles("/v1/monitoring"))
        def monitoring(self, request: Request):
            return _json({"request_id": _rid(request), "model_versions": self.rt.versions,
                          **data_scientist_overview(self.rt.versions)})

        # -- web page --------------------------------------------------------------------------
        @api.get("/ui/models", include_in_schema=False)
        def ui_models(self):
            return FileResponse(STATIC / "models.html")

        @api.get("/ui", include_in_schema=False)
        def ui(self):
            return FileResponse(STATIC / "index.html")

        @api.get("/ui/fund", include_in_schema=False)
        def ui_fund(self):
            return FileResponse(STATIC / "fund.html")

        @api.get("/v1/contracts/application", response_model=schemas.ApplicationForm, tags=["contracts"],
                 responses=_PUBLIC_ERRS, summary="The application form, from the contracts (public)",
                 description="Sections (firm, pledged patents, loan, credit enhancements) with every field's label "
                             "(the contract's description), type, unit, range, allowed values, pattern and whether it is "
                             "required, as the web page builds its form. No key needed.")
        def application_form(self):
            return _json(schemas.application_form(self.rt.cfg.max_patents))

        # -- PD-only path ------------------------------------------------------------------------
        @bentoml.api(route="/v1/pd")
        async def pd(self, records: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)],
                     ctx: bentoml.Context) -> list[float]:
            """PD-only path: loan-level feature rows (the PD model's features, as `GET /v1/models` lists)
            → one PD per row. Concurrent requests are batched into one model call."""
            errors, X = self.rt.pd_rows(records)
            if errors:
                rid = ctx.request.scope.get("state", {}).get("request_id")
                ctx.response.status_code = 422  # BentoML applies the context's status to the response
                return JSONResponse({"error": f"{len(errors)} error(s) in the request", "request_id": rid,
                                     "errors": [field_error(**e) for e in errors]},
                                    status_code=422)
            return await self.rt.predict_pd(X)


    api.mount("/ui/static", StaticFiles(directory=STATIC), name="static")
    _document_native_routes(IpriskService)
    IpriskService.add_asgi_middleware(GuardMiddleware, keys_path=str(cfg.keys_path), max_request_bytes=cfg.max_request_bytes)
    return IpriskService
