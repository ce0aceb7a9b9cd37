"""Namespace settings over ``/api/v1/namespaces`` (today: anonymous pull)."""
