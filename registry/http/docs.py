"""The API documentation pages (Redoc, Swagger UI), every asset served by the registry itself.

Litestar's render plugins load their JavaScript, CSS, fonts and favicon from
public CDNs by default: a registry on a closed network then shows a blank page,
and every visitor's browser tells a third party it looked. The bundles come
from the ``openapi-ui-bundles`` package instead and are served from a fixed
list under ``/api/v1/openapi/assets/`` (nothing else in that package is
reachable); Google fonts are off and the favicon link is left out.

Example::

    config = OpenAPIConfig(title="Custody", version="1", render_plugins=render_plugins())
    Litestar(route_handlers=[..., docs_asset], openapi_config=config)
"""

from __future__ import annotations

from pathlib import Path

import openapi_ui_bundles
from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import (
    OpenAPIRenderPlugin,
    RedocRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.params import FromPath
from litestar.response import File

__all__ = ["ASSETS", "DOCS_PATH", "docs_asset", "render_plugins"]

DOCS_PATH = "/api/v1/openapi"
_ASSETS_PATH = f"{DOCS_PATH}/assets"
_REDOC = Path(openapi_ui_bundles.redoc.static_path)
_SWAGGER = Path(openapi_ui_bundles.swagger_ui.static_path)

#: name -> (file, media type): the only files served.
ASSETS: dict[str, tuple[Path, str]] = {
    "redoc.standalone.js": (_REDOC / "redoc.standalone.js", "text/javascript"),
    "swagger-ui-bundle.js": (_SWAGGER / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui-standalone-preset.js": (
        _SWAGGER / "swagger-ui-standalone-preset.js",
        "text/javascript",
    ),
    "swagger-ui.css": (_SWAGGER / "swagger-ui.css", "text/css"),
}


@get(f"{_ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> File:
    """One bundled documentation asset, cacheable for a day."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFoundException(f"no documentation asset {name!r}")
    path, media_type = found
    return File(
        path,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": CacheControlHeader(max_age=86400, public=True).to_header()},
    )


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Redoc at the documentation root and Swagger UI at ``/swagger``, from local assets.

    Serve :func:`docs_asset` beside them.
    """
    return [
        RedocRenderPlugin(
            js_url=f"{_ASSETS_PATH}/redoc.standalone.js", google_fonts=False, favicon=""
        ),
        SwaggerRenderPlugin(
            js_url=f"{_ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{_ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{_ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon="",
        ),
    ]
