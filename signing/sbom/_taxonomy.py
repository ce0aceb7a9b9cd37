"""Custody's CycloneDX property names (the ``custody:`` namespace).

CycloneDX has no fields for tensor layouts or ONNX opsets, so the generator
records them as component ``properties`` under these names, and the indexer
reads them back. Names may repeat (CycloneDX allows it) where a list is
natural: one ``custody:onnx:input`` per graph input, for example.

On a file component:

=====================================  ==================================================
``custody:file:size``                  size in bytes
``custody:file:format``                ``safetensors``, ``onnx``, ``onnx-external-data``,
                                       ``json``, ``text``, ``binary``
``custody:safetensors:tensor-count``   number of tensors
``custody:safetensors:parameter-count``  elements over all tensors
``custody:safetensors:dtypes``         comma-separated dtypes, sorted (``BF16,F32``)
``custody:safetensors:tensor``         ``DTYPE[shape] name``, or ``DTYPE[shape] xN pattern``
                                       when layers are summarised (``*`` stands for a
                                       layer number); repeated
``custody:safetensors:tensors-omitted``  tensors left out of the listing (large models)
``custody:safetensors:metadata:KEY``   one entry of ``__metadata__``
``custody:onnx:ir-version``            IR version
``custody:onnx:opset:DOMAIN``          opset version (``ai.onnx`` for the default domain)
``custody:onnx:producer``              ``name version``
``custody:onnx:input`` / ``output``    ``name: dtype[dims]``; repeated
``custody:onnx:operator``              ``OpType=count`` (``domain:OpType`` outside ai.onnx);
                                       repeated
``custody:onnx:node-count``            nodes over the graph and its subgraphs
``custody:onnx:initializer-dtypes``    comma-separated initializer dtypes
``custody:onnx:external-data``         a model-relative file holding external tensors;
                                       repeated
=====================================  ==================================================

On the model component: ``custody:model:digest`` says what its SHA-256 is
(``oms-root-sha256`` for a directory, ``file-sha256`` for a single file),
``custody:model:parameter-count`` sums the safetensors parameter counts.
"""

from __future__ import annotations

__all__ = [
    "FILE_FORMAT",
    "FILE_SIZE",
    "MODEL_DIGEST",
    "MODEL_PARAMETER_COUNT",
    "ONNX_EXTERNAL_DATA",
    "ONNX_INITIALIZER_DTYPES",
    "ONNX_INPUT",
    "ONNX_IR_VERSION",
    "ONNX_NODE_COUNT",
    "ONNX_OPERATOR",
    "ONNX_OPSET",
    "ONNX_OUTPUT",
    "ONNX_PRODUCER",
    "PREFIX",
    "ST_DTYPES",
    "ST_METADATA",
    "ST_PARAMETER_COUNT",
    "ST_TENSOR",
    "ST_TENSORS_OMITTED",
    "ST_TENSOR_COUNT",
]

PREFIX = "custody:"

FILE_SIZE = "custody:file:size"
FILE_FORMAT = "custody:file:format"

ST_TENSOR_COUNT = "custody:safetensors:tensor-count"
ST_PARAMETER_COUNT = "custody:safetensors:parameter-count"
ST_DTYPES = "custody:safetensors:dtypes"
ST_TENSOR = "custody:safetensors:tensor"
ST_TENSORS_OMITTED = "custody:safetensors:tensors-omitted"
ST_METADATA = "custody:safetensors:metadata:"

ONNX_IR_VERSION = "custody:onnx:ir-version"
ONNX_OPSET = "custody:onnx:opset:"
ONNX_PRODUCER = "custody:onnx:producer"
ONNX_INPUT = "custody:onnx:input"
ONNX_OUTPUT = "custody:onnx:output"
ONNX_OPERATOR = "custody:onnx:operator"
ONNX_NODE_COUNT = "custody:onnx:node-count"
ONNX_INITIALIZER_DTYPES = "custody:onnx:initializer-dtypes"
ONNX_EXTERNAL_DATA = "custody:onnx:external-data"

MODEL_DIGEST = "custody:model:digest"
MODEL_PARAMETER_COUNT = "custody:model:parameter-count"
