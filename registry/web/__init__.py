"""The registry's web pages: server-rendered HTML over the JSON API's own services (ADR 0013).

Served by the registry itself, on its port, with its rights: a token entered once on
the login page is kept in an http-only, ``SameSite=Strict`` session cookie
(:mod:`registry.web.session`); namespaces that allow anonymous pull are browsable
without it. Every style sheet and script comes from this package (``static/``): the
pages load nothing from another host, so they work on a closed network.

Example::

    app = Litestar(route_handlers=[*web_handlers()], template_config=template_config())
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from registry.web.routes import unrouted, web_handlers
from registry.web.templating import install_filters

__all__ = ["template_config", "unrouted", "web_handlers"]

_TEMPLATES = Path(__file__).parent / "templates"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The pages' Jinja2 environment: autoescaped, and strict about undefined names."""
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_filters(environment)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))
