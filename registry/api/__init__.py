"""Site administration over /api/v1/: tokens, namespace settings and the audit trail."""
