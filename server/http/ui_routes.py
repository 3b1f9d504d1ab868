"""The web UI: one page at ``/`` (a hash-routed app of vanilla JS modules, no build step),
its assets under ``/static/``, and plotly.js from the installed plotly package.

Everything the page shows it reads from ``/graphql``; this module only serves files.
A Content-Security-Policy keeps the page to its own origin: nothing is loaded from a CDN,
and sanitized HTML artifacts cannot run scripts even if the sanitizer missed one.
"""

from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from lineage.server.http.app import AppState

ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # plotly sets style attributes and injects a stylesheet at run time
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def ui_dir() -> Path:
    return Path(str(resources.files("lineage.server.ui")))


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@lru_cache(maxsize=1)
def _asset_versions() -> str:
    """A short hash of the assets, appended to their URLs so browsers refetch after an
    upgrade and may cache them otherwise."""
    digest = hashlib.sha256()
    for path in sorted(ui_dir().iterdir()):
        if path.suffix in ASSET_TYPES:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _headers(cache: str) -> dict[str, str]:
    return {
        "Cache-Control": cache,
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a name longer than the file system allows
        return False


async def index(request: Request) -> Response:
    html = (ui_dir() / "index.html").read_text(encoding="utf-8")
    html = html.replace("{{version}}", _asset_versions())
    return Response(html, media_type="text/html; charset=utf-8", headers=_headers("no-cache"))


async def static(request: Request) -> Response:
    name = str(request.path_params["name"])
    if name == "plotly.min.js":
        return FileResponse(
            plotly_js_path(),
            media_type=ASSET_TYPES[".js"],
            headers=_headers("public, max-age=86400"),
        )
    suffix = Path(name).suffix
    # flat directory, known types only: no path can leave it
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in ASSET_TYPES:
        return PlainTextResponse("not found", status_code=404)
    path = ui_dir() / name
    if not _is_file(path):
        return PlainTextResponse("not found", status_code=404)
    cache = "public, max-age=31536000, immutable" if "v" in request.query_params else "no-cache"
    return FileResponse(
        path,
        media_type=ASSET_TYPES.get(suffix) or mimetypes.guess_type(name)[0],
        headers=_headers(cache),
    )


def routes(state: AppState) -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/ui", index, methods=["GET", "HEAD"]),
        Route("/static/{name:path}", static, methods=["GET", "HEAD"]),
    ]
