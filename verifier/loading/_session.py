"""The one way to get an onnxruntime session: from verified, sealed bytes.

:func:`load_onnx_session` takes the signed files (name -> path, e.g. in the
agent's content-addressed cache) and their verified digests, and:

1. seals the model file into a memory file and checks its digest
   (:mod:`verifier.loading._sealed`);
2. walks the model for external-data references before onnxruntime sees it and
   refuses absolute, ``..`` or unsigned locations (:mod:`verifier.loading.external`);
3. seals and checks each referenced external file;
4. builds the session with :class:`onnxruntime.SessionOptions` it creates and
   never hands out: no caller initializers, no custom-op libraries, no
   optimised-model output, no profiling files, no configuration read from the
   model, execution providers only from an allow-list.

A model without external data is read in place when the kernel grants a read
lease on it (:mod:`verifier.loading._leased`: hashed through the leased
descriptor, opened by onnxruntime through ``/proc/self/fd/N``, the lease checked
unbroken afterwards; no copy), else opened by onnxruntime through the sealed
copy's ``/proc/self/fd/N`` (its fast path: it reads the sealed bytes by path). A model
with external data is given to onnxruntime as bytes, with every external file
supplied from the sealed memory files through
``add_external_initializers_from_files_in_memory``; since every location is
checked to be one of those names, onnxruntime never resolves a file against the
working directory or the disk.

The result is a :class:`VerifiedSession`, a narrow wrapper: it runs the model
and describes its inputs and outputs, and offers nothing that rebuilds the
session (onnxruntime's ``set_providers`` would re-read the model with mutable
options).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import onnxruntime as ort  # type: ignore[import-untyped]

from verifier.loading._in_place import Backing, split_by_name
from verifier.loading._leased import lease_and_verify
from verifier.loading._sealed import SealedFile, seal_and_verify
from verifier.loading.errors import MissingLoadInput, ProviderNotAllowed, SessionConfigRefused
from verifier.loading.external import check_bounds, check_locations, external_references

__all__ = [
    "DEFAULT_PROVIDERS",
    "SessionSettings",
    "VerifiedSession",
    "load_onnx_session",
]

DEFAULT_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)

_OPTIMIZATION = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


@dataclass(frozen=True)
class SessionSettings:
    """The few session settings a caller may choose: plain values, never ``SessionOptions``."""

    optimization: Literal["disable", "basic", "extended", "all"] = "all"
    intra_op_threads: int = 0  # 0: onnxruntime's default
    inter_op_threads: int = 0
    log_severity: int = 3  # errors only


class VerifiedSession:
    """An inference session built from verified bytes; see :func:`load_onnx_session`."""

    def __init__(
        self,
        session: Any,
        digests: Mapping[str, str],
        route: str = "sealed",
        backing: Backing | None = None,
    ) -> None:
        self.__session = session
        self._digests = dict(digests)
        self._route = route
        self._backing = backing  # sealed pages the session's weights live in

    @property
    def route(self) -> str:
        """How the bytes reached onnxruntime: ``leased`` (in place) or ``sealed`` (a copy)."""
        return self._route

    @property
    def digests(self) -> Mapping[str, str]:
        """The files this session was built from and the digests they were checked against."""
        return dict(self._digests)

    @property
    def providers(self) -> list[str]:
        return list(self.__session.get_providers())

    def get_inputs(self) -> list[Any]:
        return list(self.__session.get_inputs())

    def get_outputs(self) -> list[Any]:
        return list(self.__session.get_outputs())

    def get_modelmeta(self) -> Any:
        return self.__session.get_modelmeta()

    def run(self, output_names: Sequence[str] | None, feeds: Mapping[str, Any]) -> list[Any]:
        """Run the model (as ``InferenceSession.run``)."""
        return list(
            self.__session.run(None if output_names is None else list(output_names), dict(feeds))
        )


def _options(settings: SessionSettings) -> Any:
    if not isinstance(settings, SessionSettings):
        raise SessionConfigRefused(
            "session settings must be verifier.loading.SessionSettings, not "
            f"{type(settings).__name__} (the loader owns onnxruntime's SessionOptions)"
        )
    options = ort.SessionOptions()
    options.graph_optimization_level = _OPTIMIZATION[settings.optimization]
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.log_severity_level = settings.log_severity
    options.enable_profiling = False
    options.optimized_model_filepath = ""
    options.add_session_config_entry("session.load_config_from_model", "0")
    return options


def _check_providers(providers: Sequence[str], allowed: Collection[str]) -> list[str]:
    if isinstance(providers, str) or not providers:
        raise ProviderNotAllowed("providers must be a non-empty sequence of provider names")
    available = set(ort.get_available_providers())
    chosen: list[str] = []
    for provider in providers:
        if not isinstance(provider, str):
            raise ProviderNotAllowed(
                f"provider {provider!r}: provider options are not accepted (names only)"
            )
        if provider not in allowed:
            raise ProviderNotAllowed(f"execution provider {provider!r} is not in the allow-list")
        if provider not in available:
            raise ProviderNotAllowed(f"execution provider {provider!r} is not available here")
        chosen.append(provider)
    return chosen


def _need(name: str, files: Mapping[str, Any], digests: Mapping[str, str]) -> tuple[Any, str]:
    if name not in files:
        raise MissingLoadInput(f"{name}: no path given for a file the model needs")
    if name not in digests:
        raise MissingLoadInput(f"{name}: no verified digest for a file the model needs")
    return files[name], digests[name]


def load_onnx_session(
    files: Mapping[str, str | os.PathLike[str]],
    digests: Mapping[str, str],
    *,
    model: str,
    providers: Sequence[str] = DEFAULT_PROVIDERS,
    allowed_providers: Collection[str] = DEFAULT_PROVIDERS,
    settings: SessionSettings = SessionSettings(),
) -> VerifiedSession:
    """Build an onnxruntime session from the verified bytes of ``model`` and its external data.

    ``files`` maps signed names to paths; ``digests`` maps signed names to their verified
    digests (``"sha256:<hex>"`` or ``"blake3:<hex>"``). Only ``model`` and the files it
    references are read, each once. Raises a :class:`~verifier.loading.errors.LoadError`
    (a :class:`~verifier.errors.VerificationError`) before onnxruntime sees anything unverified.
    """
    if (ort_env := os.environ.get("ORT_LOAD_CONFIG_FROM_MODEL")) and ort_env.strip() == "1":
        raise SessionConfigRefused(
            "ORT_LOAD_CONFIG_FROM_MODEL=1 would let the model set session options; unset it"
        )
    chosen = _check_providers(providers, allowed_providers)
    options = _options(settings)
    path, digest = _need(model, files, digests)
    leased = _load_leased(model, path, digest, options, chosen)
    if leased is not None:
        return leased
    sealed: list[SealedFile] = []
    backing = Backing()
    try:
        path, digest = _need(model, files, digests)
        model_file = seal_and_verify(model, path, digest)
        sealed.append(model_file)
        model_view = model_file.view()
        try:
            references = external_references(model_view)
            if not references:
                session = ort.InferenceSession(
                    model_file.proc_path, sess_options=options, providers=chosen
                )
            else:
                check_locations(references, digests)
                needed = sorted({ref.location for ref in references})
                externals: dict[str, SealedFile] = {}
                for name in needed:
                    ext_path, ext_digest = _need(name, files, digests)
                    externals[name] = seal_and_verify(name, ext_path, ext_digest)
                    sealed.append(externals[name])
                check_bounds(references, {n: f.size for n, f in externals.items()})
                # Weights backed by the sealed pages themselves: they outlive this call.
                rest = split_by_name(references, externals, options, backing)
                backing.files.extend(externals.values())
                remaining = sorted({ref.location for ref in rest})
                buffers = [externals[name].view() for name in remaining]
                try:
                    if remaining:
                        options.add_external_initializers_from_files_in_memory(
                            remaining, buffers, [len(b) for b in buffers]
                        )
                    session = ort.InferenceSession(
                        model_view.tobytes(), sess_options=options, providers=chosen
                    )
                finally:
                    for buffer in buffers:
                        buffer.release()
        finally:
            model_view.release()
    except BaseException:
        backing.release()
        raise
    finally:
        for item in sealed:
            if item not in backing.files:
                item.close()
    digests_used = {f.name: f.digest for f in sealed}
    return VerifiedSession(_sealed_off(session), digests_used, backing=backing)


def _sealed_off(session: Any) -> Any:
    """Nothing may rebuild the session from a path or options after this point."""
    session._model_path = None
    session._model_bytes = None
    session._sess_options = None
    session._sess_options_initial = None
    return session


def _load_leased(
    model: str, path: Any, digest: str, options: Any, providers: list[str]
) -> VerifiedSession | None:
    """The in-place route for a model without external data; ``None`` to use sealed copies."""
    leased = lease_and_verify(model, path, digest, inspect=external_references)
    if leased is None:
        return None
    with leased:
        if leased.inspected:  # external data: its files go through sealed copies
            return None
        session = ort.InferenceSession(leased.proc_path, sess_options=options, providers=providers)
        leased.check_intact()
    return VerifiedSession(_sealed_off(session), {model: leased.digest}, route="leased")
