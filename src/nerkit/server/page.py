"""The one-page web app at ``/`` and its two static files.

The page may only talk to this server and load its own files (no CDN, no fonts, no trackers),
which its Content-Security-Policy enforces; only the files named here are served, so no path
can reach anything else on disk.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, HTTPException, Response

STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def _static(name: str) -> str:
    return resources.files("nerkit.server").joinpath("static", name).read_text(encoding="utf-8")


def add_page_routes(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files at ``/static/{name}`` (kept out of the schema)."""
    page = {name: _static(name) for name in ("index.html", *STATIC_FILES)}

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(page["index.html"], media_type="text/html", headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(page[name], media_type=STATIC_FILES[name], headers=PAGE_HEADERS)
