"""Serving Designsystemet's CSS from the npm-installed node_modules (never copied into git),
and our own few files from web/static."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.errors import Problem

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Public name -> path inside node_modules. Only these files are served.
DESIGN_FILES = {
    "designsystemet.css": "@digdir/designsystemet-css/dist/src/index.css",
    "theme.css": "@digdir/designsystemet-theme/brand/digdir.css",
}
CACHE_SECONDS = 3600


def node_modules() -> Path:
    """OVERGANG_NODE_MODULES, else the repository's own node_modules (from `npm ci`)."""
    configured = os.environ.get("OVERGANG_NODE_MODULES")
    return Path(configured) if configured else REPO_ROOT / "node_modules"


router = APIRouter(include_in_schema=False)


@router.get("/assets/ds/{name}")
async def design_file(name: str) -> FileResponse:
    relative = DESIGN_FILES.get(name)
    path = node_modules() / relative if relative else None
    if path is None or not path.is_file():
        raise Problem(404, "Not found", f"{name} is not installed: run `npm ci` in the repository")
    return FileResponse(
        path, media_type="text/css", headers={"Cache-Control": f"max-age={CACHE_SECONDS}"}
    )


def mount_assets(app: FastAPI) -> None:
    if not (node_modules() / DESIGN_FILES["designsystemet.css"]).is_file():
        log.warning("Designsystemet is not installed (run `npm ci`): pages will be unstyled")
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="web-static")
