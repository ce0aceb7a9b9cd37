"""The edge agent: TUF-backed sync into a content-addressed cache, last known good, verified load.

``custody agent pull acme/model@production`` refreshes the registry's TUF
metadata with python-tuf's ngclient, fetches only the blobs the cache lacks,
verifies every byte against the signed targets and the OMS signatures against the
operator's trust policy, and only then makes the version current. On any failure
the previous version stays current and the failure is recorded with a reason code
(:data:`REASONS`). :meth:`Agent.load_session` is the way to get an onnxruntime
session over the current version. See ADR 0009.

Example (the registry side is ``registry.tuf``; see ``tests/verifier/agent``)::

    from pathlib import Path
    from verifier import load_trust_policy
    from verifier.agent import Agent, AgentConfig

    agent = Agent(AgentConfig(
        cache_dir=Path("/var/lib/custody"),
        trust_root=Path("root.json").read_bytes(),
        trust_policy=load_trust_policy("trust.yaml"),
        registry="https://registry.example",
    ))
    agent.pull("acme/model", "production")
    session = agent.load_session("acme/model", "production")
"""

from verifier.agent._state import AgentState, FileRecord, VersionRecord
from verifier.agent.agent import Agent, AgentConfig, ExpiryPolicy, PullResult
from verifier.agent.errors import REASONS, AgentError

__all__ = [
    "REASONS",
    "Agent",
    "AgentConfig",
    "AgentError",
    "AgentState",
    "ExpiryPolicy",
    "FileRecord",
    "PullResult",
    "VersionRecord",
]
