"""The authorised image route: ``GET /img/{case_id}``, the only way the browser gets pixels.

Contract: the client names a case (and whether it wants the prior study), a preset or a window
and a size; never a file. The route checks that the logged-in user may see that case
(:func:`services.screens.may_view_case`), finds the stored payload from the
database row (a path inside the image store, checked again by the storage layer), renders it
through :class:`~imaging.RenderCache` and answers lossless PNG (or a JPEG/WebP preview when asked),
with a private cache header, so the browser keeps it and no shared cache does.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from chestx.web.context import AppContext
from imaging import PRESET_NAMES, encode_jpeg, encode_png, encode_webp, load_payload
from review_db.store.users import get_user
from services import screens
from services.reader_study.access import may_see_image

# PNG is lossless (the full-quality image); JPEG is the fast preview shown while PNG arrives.
ENCODERS = {"png": encode_png, "jpeg": encode_jpeg, "webp": encode_webp}


class EncodedCache:
    """A small LRU of encoded images (bytes), bounded by total size."""

    def __init__(self, max_bytes: int = 96 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


def _window(center: float | None, width: float | None) -> tuple[float | None, float | None]:
    if center is None and width is None:
        return None, None
    if center is None or width is None or not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise HTTPException(422, "a custom window needs a finite center and a positive width")
    return round(center, 3), round(width, 3)


def router(ctx: AppContext) -> APIRouter:
    api = APIRouter()
    encoded = EncodedCache()

    @api.get("/img/{case_id}", include_in_schema=False)
    def image(
        request: Request,
        case_id: int,
        which: str = Query("current", pattern="^(current|prior)$"),
        preset: str = Query("default"),
        c: float | None = None,
        w: float | None = None,
        max: int = Query(0, ge=0),  # noqa: A002 - the query name
        fmt: str = Query("png", pattern="^(png|jpeg|webp)$"),
    ) -> Response:
        user = ctx.user(request)
        if user is None:
            raise HTTPException(401, "login required")
        if preset not in PRESET_NAMES:
            raise HTTPException(422, f"preset must be one of {', '.join(PRESET_NAMES)}")
        center, width = _window(c, w)
        side = min(max or ctx.settings.viewer_max_side, ctx.settings.viewer_max_side)
        with ctx.read() as session:
            viewer = get_user(session=session, user_id=user.id)
            if not (
                screens.may_view_case(session=session, user=viewer, case_id=case_id)
                # a reader study's reader sees the radiograph of the cases it assigns them (only that)
                or may_see_image(session=session, user_id=user.id, case_id=case_id)
            ):
                raise HTTPException(403, "you may not see this case")
            study = screens.study_of_case(session=session, case_id=case_id, prior=which == "prior")
            if study is None:
                raise HTTPException(404, "this case has no such image")
            sha, rel = study.image_sha256, study.stored_path
        key = (sha, preset, center, width, side, fmt)
        etag = f'"{sha[:16]}-{hashlib.sha1(repr(key).encode()).hexdigest()[:10]}"'
        headers = {
            "Cache-Control": "private, max-age=86400",
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        data = encoded.get(key)
        if data is None:
            try:
                rendered = ctx.render_cache.render(
                    sha256=sha,
                    data=lambda: load_payload(root=ctx.settings.image_dir, relative_path=rel),
                    preset=preset,
                    max_side=side,
                    center=center,
                    width=width,
                )
            except FileNotFoundError:
                raise HTTPException(404, "the stored image is missing") from None
            data = ENCODERS[fmt](rendered)
            encoded.put(key, data)
        return Response(content=data, media_type=f"image/{fmt}", headers=headers)

    return api
