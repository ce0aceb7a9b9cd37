"""The reference for the manifest benchmark: a minimal Litestar JSON endpoint."""

from litestar import Litestar, get


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar([hello])
