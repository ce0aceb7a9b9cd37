"""Install the verify page's front-end dependency and copy what the registry serves.

``make web-assets`` runs this (a prerequisite of ``make run`` and ``make pytest``):

1. ``npm ci --ignore-scripts`` in ``registry/web/frontend`` from its ``package-lock.json``
   (no install script of any package runs), only when the lock changed since the last
   install (a stamp file in ``node_modules``);
2. copy the files the page loads into ``registry/web/static/vendor/c2pa/`` (git-ignored):
   ``@contentauth/c2pa-web``'s ES modules and WebAssembly, and the ES modules of its two
   small dependencies. The package imports those by bare name (``"highgain"``,
   ``"ts-deepmerge"``), which a browser cannot resolve without an import map (an inline
   script the page's CSP forbids), so the copy rewrites exactly those two specifiers to
   the sibling files; any other bare import fails this script rather than the page.

Without npm, ``--optional`` (what ``make run`` passes) prints one line and exits 0: the page
then says C2PA reading is unavailable. Without it (``make pytest``), a missing npm fails.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "registry" / "web" / "frontend"
VENDOR = ROOT / "registry" / "web" / "static" / "vendor" / "c2pa"
MODULES = FRONTEND / "node_modules"
STAMP = MODULES / ".custody-lock-sha256"
#: Bare specifiers of c2pa-web's ES modules and the file each is copied to.
BARE = {
    "highgain": ("highgain/dist/index.js", "highgain.js"),
    "ts-deepmerge": ("ts-deepmerge/esm/index.js", "ts-deepmerge.js"),
}
_IMPORT = re.compile(r'(\bfrom\s*|\bimport\s*)"([^"./][^"]*)"')


def _lock_digest() -> str:
    return hashlib.sha256((FRONTEND / "package-lock.json").read_bytes()).hexdigest()


def install() -> None:
    """``npm ci --ignore-scripts`` unless the installed tree matches the lock already."""
    digest = _lock_digest()
    if STAMP.is_file() and STAMP.read_text().strip() == digest:
        return
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=FRONTEND,
        check=True,
    )
    STAMP.write_text(digest + "\n")


def _rewrite(text: str, name: str) -> str:
    def swap(match: re.Match[str]) -> str:
        spec = match.group(2)
        if spec not in BARE:
            raise SystemExit(f"web_assets: {name} imports {spec!r}, which is not vendored")
        return f'{match.group(1)}"./{BARE[spec][1]}"'

    return _IMPORT.sub(swap, text)


def copy() -> None:
    """Copy the served files into ``VENDOR`` (replacing what was there)."""
    dist = MODULES / "@contentauth" / "c2pa-web" / "dist"
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    # index.js and its hashed chunk; inline.js (the WASM as base64, 11 MB) is not needed.
    for source in sorted(dist.glob("*.js")):
        if source.name in {"inline.js", "c2pa_worker.js"}:
            continue
        (VENDOR / source.name).write_text(_rewrite(source.read_text(), source.name))
    shutil.copyfile(dist / "resources" / "c2pa_bg.wasm", VENDOR / "c2pa_bg.wasm")
    for source, target in BARE.values():
        text = (MODULES / source).read_text()
        (VENDOR / target).write_text(_rewrite(text, target))
    for package in ("@contentauth/c2pa-web", "highgain", "ts-deepmerge"):
        licence = MODULES / package / "LICENSE"
        if licence.is_file():
            shutil.copyfile(licence, VENDOR / f"LICENSE.{package.rsplit('/', 1)[-1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--optional", action="store_true", help="without npm, warn and exit 0 (make run)"
    )
    args = parser.parse_args(argv)
    if shutil.which("npm") is None:
        message = "no npm: the verify page will say C2PA reading is unavailable"
        if args.optional:
            print(f"web_assets: {message}", file=sys.stderr)
            return 0
        hint = "install Node.js and npm (apt-get install npm)"
        print(f"web_assets: {message}; {hint}", file=sys.stderr)
        return 1
    install()
    copy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
