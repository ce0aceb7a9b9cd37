"""Namespace administration: settings over ``/api/v1/namespaces`` (today: anonymous pull)
and the audit trail over ``/api/v1/audit``."""
