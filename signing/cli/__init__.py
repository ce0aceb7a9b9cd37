"""Signing's command lines, in one place (imported lazily by :mod:`custody.cli`)."""
