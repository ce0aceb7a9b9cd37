"""Authentication (API tokens) and authorisation (scopes per namespace); ``/api/v1/tokens``."""

from registry.auth.principal import Principal, Scope
from registry.auth.tokens import IssuedToken, TokenService

__all__ = ["IssuedToken", "Principal", "Scope", "TokenService"]
