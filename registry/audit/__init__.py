"""The audit trail: the events every write and refusal records (:mod:`registry.audit.service`)
and ``/api/v1/audit``, where admins read them (:mod:`registry.namespaces.audit_api`)."""
