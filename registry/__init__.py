"""The Custody registry: OCI Distribution API, model lifecycle API, reprint hub.

Example::

    from registry import Settings, create_app

    app = create_app(Settings.from_env())   # serve with: custody serve
"""

from registry.app import create_app
from registry.errors import RegistryError
from registry.settings import Settings

__all__ = ["RegistryError", "Settings", "create_app"]
