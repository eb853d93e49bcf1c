"""The web app: a FastAPI server over `Retoucher`, and the page in ``static/``.

Every route answers JSON (``{"error": "one line"}`` when something is wrong) or the bytes of an
image or export; the page drives them. Image and model work runs on one worker thread, off the
event loop: the server keeps answering while a photo is retouched, and two heavy requests never
fight over the cores. Endpoints (``{id}`` is the session id from ``POST /api/photos``):

    GET  /                              the page
    GET  /api/config                    sliders by aspect, limits
    GET  /api/health                    {"status": "ok"}
    POST /api/photos                    open a photo (multipart ``photo``) -> session state
    GET  /api/sessions/{id}             session state
    GET  /api/sessions/{id}/original.jpg    the photo, downsized (the "before" of the comparison)
    GET  /api/sessions/{id}/preview.jpg     the current edit on the downsized photo
    POST /api/sessions/{id}/auto        {"aspects": [...]?}
    POST /api/sessions/{id}/style       {"prompt": "...", "aspects": [...]?}
    POST /api/sessions/{id}/sliders     {"values": {...}, "keep_curves": true}: param mode, nudges
    POST /api/sessions/{id}/preset      multipart ``preset`` (.xmp / .json): param mode from a preset
    POST /api/sessions/{id}/reference   multipart ``after``, ``before``?, ``aspects``?
    GET  /api/sessions/{id}/download/{image|xmp|cube|plan}
    DELETE /api/sessions/{id}
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..api import Retoucher
from ..errors import ImageReadError, PlanError, VeraRetouchError
from ..io.decode import decode_footprint
from ..io.images import proxy_photo, read_image_bytes
from ..plan import Plan
from ..plan.files import plan_from_bytes
from ..plan.parameters import ASPECTS, SCALARS, SLIDERS
from ..plan.unchanged import without_defaults
from .rendering import DOWNLOADS, PREVIEW_SIDE, download, jpeg_bytes, preview_jpeg
from .safety import SECURITY_HEADERS, Limits, RequestGuard, safe_label
from .sessions import Session, SessionStore

STATIC = Path(__file__).with_name("static")
ASPECT_LABELS = {"lighting": "Lighting", "global_color": "Global colour", "specific_color": "Specific colour"}
CORE_SLIDERS = frozenset(spec.name for spec in SLIDERS)
MAX_PROMPT_CHARS = 500
log = logging.getLogger("veraretouch.web")


class AspectsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aspects: list[str] | None = Field(default=None, max_length=len(ASPECTS))


class StyleRequest(AspectsRequest):
    prompt: str = Field(max_length=MAX_PROMPT_CHARS)


class SlidersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, float] = Field(max_length=len(SCALARS))
    keep_curves: bool = True


class Worker:
    """One thread for all image and model work (see the module docstring)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veraretouch-web")

    async def __call__(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))


def create_app(retoucher: Retoucher | None = None, limits: Limits = Limits(), temp_dir: Path | None = None) -> FastAPI:
    """The app. ``retoucher`` holds the models (default: the shipped ones); ``temp_dir`` is where
    downloads are written for the moment they take (default: the system's temporary folder)."""
    retoucher = retoucher or Retoucher(max_pixels=limits.max_pixels)
    store = SessionStore(limits.max_sessions, limits.max_session_bytes, limits.session_idle_seconds)
    app = FastAPI(title="veraretouch", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(RequestGuard, limits=limits)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.sessions = store
    add_error_handlers(app)
    add_page_routes(app, store, limits)
    add_session_routes(app, store, Worker(), Editor(retoucher, store, limits), temp_dir)
    return app


class Editor:
    """What the routes do to a session (run by the `Worker`, off the event loop): open a photo, or
    make an edit its result, render the preview and return the page's new state."""

    def __init__(self, retoucher: Retoucher, store: SessionStore, limits: Limits) -> None:
        self.retoucher, self.store, self.limits = retoucher, store, limits

    def open_session(self, data: bytes, label: str) -> Session:
        self.store.make_room(decode_footprint(data))
        photo = read_image_bytes(data, label, self.limits.max_pixels)
        proxy = proxy_photo(photo, PREVIEW_SIDE)
        return self.store.add(Session(label, photo, proxy, jpeg_bytes(proxy)))

    def show(self, session: Session, result, source_mode: str, adjusted: bool = False, explanation=None) -> dict:
        """Make ``result`` the session's edit, render its preview, and return the new state."""
        result.plan  # reference mode fits its sliders here (seconds), before the page shows them
        session.result, session.source_mode, session.adjusted = result, source_mode, adjusted
        session.explanation = explanation
        session.preview_jpeg = preview_jpeg(session)
        session.version += 1
        return state(session)

    def planned(self, session: Session, mode: str, prompt: str | None, aspects) -> dict:
        photo = session.photo
        result = (self.retoucher.auto(photo, aspects) if mode == "auto"
                  else self.retoucher.style(photo, prompt, aspects))
        return self.show(session, result, mode, explanation=result.explanation.to_record()["aspects"])

    def move_sliders(self, session: Session, values: dict[str, float], keep_curves: bool) -> dict:
        current = session.result.plan if session.result is not None else Plan()
        adjusted = keep_curves and session.result is not None and session.source_mode != "param"
        plan = Plan(values=without_defaults(values), curves=current.curves if keep_curves else {}, name=current.name,
                    unmodelled=current.unmodelled if keep_curves else {})
        return self.show(session, self.retoucher.param(session.photo, plan),
                         session.source_mode if adjusted else "param", adjusted,
                         session.explanation if adjusted else None)

    def apply_preset(self, session: Session, data: bytes, label: str) -> dict:
        plan = read_preset(data, label, self.limits.max_preset_bytes)
        return self.show(session, self.retoucher.param(session.photo, plan), "param")

    def like_reference(self, session: Session, after: bytes, after_label: str, before: bytes | None,
                       before_label: str, aspects) -> dict:
        after_photo = read_image_bytes(after, after_label, self.limits.max_pixels)
        before_photo = None if before is None else read_image_bytes(before, before_label, self.limits.max_pixels)
        return self.show(session, self.retoucher.reference(session.photo, after_photo, before_photo, aspects),
                         "reference")


def add_page_routes(app: FastAPI, store: SessionStore, limits: Limits) -> None:
    """The page itself, the health check and the page's configuration (sliders, aspects, limits)."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    @app.get("/api/health")
    async def health() -> dict:
        return {"status": "ok", "sessions": len(store)}

    @app.get("/api/config")
    async def config() -> dict:
        return {"aspects": [{"name": aspect, "label": ASPECT_LABELS[aspect]} for aspect in ASPECTS],
                "sliders": [{"name": spec.name, "label": slider_label(spec.name), "aspect": spec.aspect,
                             "minimum": spec.minimum, "maximum": spec.maximum, "default": spec.default,
                             "step": slider_step(spec), "unit": spec.unit, "description": spec.description,
                             "core": spec.name in CORE_SLIDERS} for spec in SCALARS],
                "limits": {"max_upload_bytes": limits.max_upload_bytes, "max_pixels": limits.max_pixels,
                           "max_preset_bytes": limits.max_preset_bytes, "max_prompt_chars": MAX_PROMPT_CHARS}}


def add_session_routes(app: FastAPI, store: SessionStore, work: Worker, editor: Editor, temp_dir: Path | None) -> None:
    """A session's life: open a photo, read its state and images, retouch it in any mode, download."""

    @app.post("/api/photos")
    async def open_photo(photo: UploadFile = File(...)) -> dict:
        return state(await work(editor.open_session, await photo.read(), safe_label(photo.filename)))

    @app.get("/api/sessions/{session_id}")
    async def session_state(session_id: str) -> dict:
        return state(store.get(session_id))

    @app.delete("/api/sessions/{session_id}")
    async def close(session_id: str) -> dict:
        store.remove(session_id)
        return {"status": "closed"}

    @app.get("/api/sessions/{session_id}/original.jpg")
    async def original(session_id: str) -> Response:
        return jpeg_response(store.get(session_id).original_jpeg)

    @app.get("/api/sessions/{session_id}/preview.jpg")
    async def preview(session_id: str) -> Response:
        session = store.get(session_id)
        return jpeg_response(session.preview_jpeg or session.original_jpeg)

    @app.post("/api/sessions/{session_id}/auto")
    async def auto(session_id: str, request: AspectsRequest) -> dict:
        return await work(editor.planned, store.get(session_id), "auto", None, checked_aspects(request.aspects))

    @app.post("/api/sessions/{session_id}/style")
    async def style(session_id: str, request: StyleRequest) -> dict:
        return await work(editor.planned, store.get(session_id), "style", request.prompt,
                          checked_aspects(request.aspects))

    @app.post("/api/sessions/{session_id}/sliders")
    async def sliders(session_id: str, request: SlidersRequest) -> dict:
        return await work(editor.move_sliders, store.get(session_id), request.values, request.keep_curves)

    @app.post("/api/sessions/{session_id}/preset")
    async def preset(session_id: str, preset: UploadFile = File(...)) -> dict:
        session = store.get(session_id)
        return await work(editor.apply_preset, session, await preset.read(), safe_label(preset.filename, "preset"))

    @app.post("/api/sessions/{session_id}/reference")
    async def reference(session_id: str, after: UploadFile = File(...), before: UploadFile | None = File(None),
                        aspects: str | None = Form(None)) -> dict:
        session = store.get(session_id)
        before_data = None if before is None else await before.read()
        return await work(editor.like_reference, session, await after.read(), safe_label(after.filename, "after"),
                          before_data, safe_label(before and before.filename, "before"),
                          checked_aspects(None if aspects is None else aspects.split(",")))

    @app.get("/api/sessions/{session_id}/download/{kind}")
    async def download_file(session_id: str, kind: str) -> Response:
        if kind not in DOWNLOADS:
            raise HTTPException(404, f"unknown download {kind!r}; choose from {', '.join(DOWNLOADS)}")
        session = store.get(session_id)
        if session.result is None:
            raise HTTPException(
                409, "nothing to download yet: retouch the photo first (auto, style, param or reference)"
            )
        data, name, media_type = await work(download, session, kind, temp_dir)
        return Response(data, media_type=media_type,
                        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})


def state(session: Session) -> dict:
    """What the page shows for a session: the photo, the edit's sliders and curves, the explanation."""
    plan = session.result.plan if session.result is not None else Plan()
    return {"session": session.id, "name": session.label,
            "width": session.photo.size[0], "height": session.photo.size[1], "format": session.photo.format,
            "mode": session.source_mode, "adjusted": session.adjusted, "edited": session.result is not None,
            "values": {spec.name: plan.get(spec.name) for spec in SCALARS},
            "curves": {name: [list(point) for point in points] for name, points in plan.curves.items()},
            "unmodelled": sorted(plan.unmodelled), "explanation": session.explanation,
            "understood": session.result.understood if session.result is not None else None,
            "original": f"/api/sessions/{session.id}/original.jpg",
            "preview": f"/api/sessions/{session.id}/preview.jpg?v={session.version}"}


def read_preset(data: bytes, label: str, max_bytes: int) -> Plan:
    """A preset upload as a plan, read as the CLI reads a plan file (`formats.plan_from_bytes`):
    JSON when its text starts with ``{``, else XMP."""
    if len(data) > max_bytes:
        raise HTTPException(413, f"{label}: presets are kilobytes; this one is over {max_bytes // 1024} KB")
    return plan_from_bytes(data, label)


def checked_aspects(aspects: list[str] | None) -> list[str] | None:
    """The aspects to keep (None: all); an empty choice is refused rather than rendering no edit."""
    if aspects is None:
        return None
    chosen = [aspect.strip() for aspect in aspects if aspect.strip()]
    if not chosen:
        raise VeraRetouchError("choose at least one aspect: lighting, global_color or specific_color")
    return None if set(chosen) == set(ASPECTS) else chosen


def slider_label(name: str) -> str:
    """A short label: ``HueAdjustmentRed`` -> ``Red hue``, ``Exposure2012`` -> ``Exposure``."""
    band = re.fullmatch(r"(Hue|Saturation|Luminance)Adjustment(\w+)", name)
    if band:
        return f"{band[2]} {band[1].lower()}"
    primary = re.fullmatch(r"(Red|Green|Blue)(Hue|Saturation)", name)
    if primary:
        return f"{primary[1]} primary {primary[2].lower()}"
    if name in ("Temperature", "Tint"):
        return f"Raw {name.lower()}"
    words = re.findall(
        r"[A-Z][a-z]*", name.replace("2012", "").replace("Incremental", "").replace("ColorGrade", "Grade")
    )
    return " ".join([words[0], *(word.lower() for word in words[1:])])


def slider_step(spec) -> float:
    if spec.unit == "style":
        return 1.0
    return 0.01 if spec.maximum - spec.minimum <= 10 else 1.0


def jpeg_response(data: bytes) -> Response:
    return Response(data, media_type="image/jpeg", headers={"cache-control": "no-store"})


def add_error_handlers(app: FastAPI) -> None:
    """Every failure is a JSON ``{"error": one line}`` with a 4xx code when the request was at
    fault; anything unexpected is a 500 that names no internals, and the server carries on."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        return JSONResponse({"error": f"bad request: {where + ': ' if where else ''}{first['msg']}"}, 422)

    @app.exception_handler(VeraRetouchError)
    async def refused(request, error: VeraRetouchError) -> JSONResponse:
        status = 422 if isinstance(error, (ImageReadError, PlanError)) else 400
        return JSONResponse({"error": " ".join(str(error).split())}, status)

    @app.exception_handler(Exception)
    async def unexpected(request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"the server could not finish this request ({type(error).__name__}); "
                                      "it is still running: try again, or with a smaller photo"}, 500,
                            headers=SECURITY_HEADERS)  # this handler runs outside RequestGuard
