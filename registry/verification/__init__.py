"""Verify before promote: what the trust and admission policies allow, checked where it counts.

Signature referrers are verified and their verdicts stored per version
(:mod:`~registry.verification.service`); manifests are admitted at push and strict
aliases checked before they are served (:mod:`~registry.verification.hooks`); every
alias move passes the policy gate (:mod:`~registry.verification.gate`), whose
refusals are audited. ADR 0011 records the decisions.
"""
