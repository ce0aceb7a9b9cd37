"""Tests of the verified loaders (verifier.loading)."""
