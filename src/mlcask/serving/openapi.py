"""An OpenAPI 3.1 document for the served model, built from its signature.

The request schemas name the signature's columns with their JSON types (and which are
required), tensors appear as nested arrays with their dtype and shape, params with
their types and defaults, and the saved serving input example is the request example.
A model without a signature gets free-form request and response schemas.
"""

from __future__ import annotations

import json
from typing import Any

from mlcask.serving.oip import OIP_DATATYPES, infer_request_schema

_REF = "#/components/schemas/"

_SCALAR = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
}


def column_type_schema(t: Any) -> dict[str, Any]:
    """The JSON Schema of one value of a column type (DataType, Array, Object, Map, Any)."""
    from mlcask.types.compound import AnyType, Array, Map, Object
    from mlcask.types.datatype import DataType

    if isinstance(t, DataType):
        return dict(_SCALAR[t.name])
    if isinstance(t, Array):
        return {"type": "array", "items": column_type_schema(t.dtype)}
    if isinstance(t, Object):
        props = {p.name: column_type_schema(p.dtype) for p in t.properties}
        schema = {"type": "object", "properties": props}
        required = [p.name for p in t.properties if p.required]
        if required:
            schema["required"] = required
        return schema
    if isinstance(t, Map):
        return {"type": "object", "additionalProperties": column_type_schema(t.value_type)}
    if isinstance(t, AnyType):
        return {}
    return {}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


def _tensor_value_schema(dtype: Any) -> dict[str, Any]:
    kind = dtype.kind
    if kind == "b":
        return {"type": "boolean"}
    if kind in "iu":
        return {"type": "integer"}
    if kind == "f":
        return {"type": "number"}
    return {"type": "string"}


def tensor_schema(spec: Any, *, drop_first: bool = False) -> dict[str, Any]:
    """Nested arrays for a TensorSpec: one level per dimension, fixed sizes as min/maxItems."""
    shape = list(spec.shape)[1 if drop_first else 0:]
    schema = _tensor_value_schema(spec.type)
    for dim in reversed(shape):
        schema = {"type": "array", "items": schema}
        if dim >= 0:
            schema["minItems"] = schema["maxItems"] = dim
    schema["description"] = f"Tensor of dtype {spec.type.name}, shape {list(spec.shape)}."
    schema["x-mlcask-dtype"] = spec.type.name
    schema["x-mlcask-shape"] = list(spec.shape)
    return schema


def _column_schemas(schema: Any) -> tuple[list[str], dict[str, Any], list[str]]:
    names, props, required = [], {}, []
    for i, spec in enumerate(schema.inputs):
        name = str(spec.name) if spec.name is not None else str(i)
        value = column_type_schema(spec.type)
        names.append(name)
        props[name] = value if spec.required else _nullable(value)
        if spec.required:
            required.append(name)
    return names, props, required


_AZURE_TENSORS = ("Azure ML's payload form (its online endpoints' key for MLflow models): a tensor as a "
                  "list, or named tensors as an object, read as 'inputs'.")
_AZURE = (" Azure ML's payload form (its online endpoints' key for MLflow models): an object of 'columns', "
          "'data' and optionally 'index' is read as dataframe_split; anything else as 'inputs'.")


def _request_forms(schema: Any) -> dict[str, dict[str, Any]]:
    """Component schemas for the payload forms the model takes."""
    if schema is None:
        free = {"description": "The model has no signature: any JSON value is passed to it."}
        return {
            "DataframeSplit": {"type": "object", "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {"type": "array", "items": {"type": "array"}},
                "index": {"type": "array"}}, "required": ["data"]},
            "DataframeRecords": {"type": "array", "items": {"type": "object"}},
            "Instances": free,
            "Inputs": free,
            "InputData": {**free, "description": free["description"] + _AZURE},
        }
    if schema.is_tensor_spec():
        if schema.has_input_names():
            named = {"type": "object", "properties": {str(s.name): tensor_schema(s) for s in schema.inputs},
                     "required": [str(s.name) for s in schema.inputs]}
            rows = {"type": "array", "items": {
                "type": "object", "properties": {str(s.name): tensor_schema(s, drop_first=True) for s in schema.inputs},
                "required": [str(s.name) for s in schema.inputs]}}
            both = {"oneOf": [named, rows]}
            return {"Instances": both, "Inputs": both, "InputData": {**both, "description": _AZURE_TENSORS}}
        one = tensor_schema(schema.inputs[0])
        return {"Instances": one, "Inputs": one, "InputData": {**one, "description": _AZURE_TENSORS}}
    names, props, required = _column_schemas(schema)
    row = {"type": "object", "properties": props, "required": required}
    records = {"type": "array", "items": row, "description": "One object per row."}
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string", "enum": names},
                        "description": f"Column names, in order: {names}."},
            "data": {"type": "array", "description": "Rows of values, in the order of 'columns'.",
                     "items": {"type": "array", "prefixItems": [props[n] for n in names]}},
            "index": {"type": "array"},
        },
        "required": ["data"],
    }
    columnar = {"type": "object", "properties": {n: {"type": "array", "items": props[n]} for n in names},
                "required": required, "description": "One array of values per column."}
    both = {"oneOf": [records, columnar]}
    azure_split = {**split, "required": ["columns", "data"], "additionalProperties": False,
                   "description": "A DataFrame in the split orientation, as in dataframe_split ('columns' given)."}
    azure = {"oneOf": [azure_split, records, columnar], "description": _AZURE.strip()}
    return {"DataframeSplit": split, "DataframeRecords": records, "Instances": both, "Inputs": both,
            "InputData": azure}


def params_schema(param_schema: Any) -> dict[str, Any]:
    """The ``params`` object: each param's type and default."""
    if param_schema is None:
        return {"type": "object", "maxProperties": 0,
                "description": "This model's signature declares no params."}
    from mlcask.types.datatype import DataType

    props = {}
    for spec in param_schema.params:
        value = column_type_schema(spec.dtype)
        if spec.shape is not None:
            value = {"type": "array", "items": value}
        default = spec.to_dict()["default"]
        if default is not None:
            value["default"] = default
        if spec.dtype is DataType.datetime and spec.shape is None:
            value.setdefault("format", "date-time")
        props[spec.name] = value
    return {"type": "object", "properties": props, "additionalProperties": False}


def _predictions_schema(schema: Any) -> dict[str, Any]:
    if schema is None:
        return {"description": "The model's output (no output signature)."}
    if schema.is_tensor_spec():
        if schema.has_input_names() and len(schema.inputs) > 1:
            return {"type": "object", "properties": {str(s.name): tensor_schema(s) for s in schema.inputs}}
        return tensor_schema(schema.inputs[0])
    names, props, _ = _column_schemas(schema)
    if len(names) == 1:
        single = props[names[0]]
        return {"oneOf": [
            {"type": "array", "items": single, "description": f"One '{names[0]}' value per row."},
            {"type": "array", "items": {"type": "object", "properties": props}},
        ]}
    return {"type": "array", "items": {"type": "object", "properties": props}, "description": "One record per row."}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}}}


_ERRORS = {
    "400": _error("Bad input: malformed JSON, CSV or Parquet, wrong shape, missing or mistyped columns, unknown "
                  "params, or values the model itself raised on (the message names its exception)."),
    "408": _error("The request body did not arrive within the server's body timeout."),
    "413": _error("The request body exceeds the server's limit (or a Parquet body would decode past it)."),
    "415": _error("Unsupported Content-Type."),
    "500": _error("An internal error of the server."),
    "504": _error("The prediction exceeded the server's timeout."),
}


def _oip_components(served: Any) -> dict[str, Any]:
    meta_tensor = {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string", "enum": OIP_DATATYPES},
        "shape": {"type": "array", "items": {"type": "integer"}}}}
    tensor = {"type": "object", "required": ["name", "shape", "datatype", "data"], "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": meta_tensor["properties"]["datatype"],
        "parameters": {"type": "object"},
        "data": {"type": "array", "description": "Values, flat in row-major order or nested."}}}
    request = infer_request_schema(served.input_schema, {"$ref": _REF + "Params"}) or {
        "type": "object", "required": ["inputs"], "properties": {
            "id": {"type": "string"},
            "parameters": {"$ref": _REF + "Params"},
            "inputs": {"type": "array", "items": {"$ref": _REF + "OipTensor"}, "minItems": 1},
            "outputs": {"type": "array", "items": {"type": "object"}}}}
    return {
        "OipTensorMetadata": meta_tensor,
        "OipTensor": tensor,
        "OipInferRequest": request,
        "OipInferResponse": {"type": "object", "required": ["model_name", "outputs"], "properties": {
            "model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"$ref": _REF + "OipTensor"}}}},
        "OipModelMetadata": {"type": "object", "required": ["name", "platform", "inputs", "outputs"], "properties": {
            "name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": {"$ref": _REF + "OipTensorMetadata"}},
            "outputs": {"type": "array", "items": {"$ref": _REF + "OipTensorMetadata"}}}},
        "OipError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _oip_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": _REF + "OipError"})}


def openapi_document(served: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the scoring app serving ``served``."""
    from mlcask.version import __version__

    forms = _request_forms(served.input_schema)
    keys = {"DataframeSplit": "dataframe_split", "DataframeRecords": "dataframe_records",
            "Instances": "instances", "Inputs": "inputs", "InputData": "input_data"}
    one_of = []
    for component in forms:
        key = keys[component]
        one_of.append({"type": "object", "title": key, "required": [key], "additionalProperties": False,
                       "properties": {key: {"$ref": _REF + component}, "params": {"$ref": _REF + "Params"}}})
    request_media: dict[str, Any] = {"schema": {"$ref": _REF + "InvocationsRequest"}}
    if served.serving_input_example:
        try:
            request_media["example"] = json.loads(served.serving_input_example)
        except ValueError:
            pass
    components = {
        **forms,
        "Params": params_schema(served.params_schema),
        "InvocationsRequest": {"oneOf": one_of, "description": "Exactly one payload form, plus optional params."},
        "Predictions": _predictions_schema(served.output_schema),
        "InvocationsResponse": {"type": "object", "required": ["predictions"],
                                "properties": {"predictions": {"$ref": _REF + "Predictions"}}},
        "Error": {"type": "object", "required": ["error_code", "message"], "properties": {
            "error_code": {"type": "string"}, "message": {"type": "string"}}},
        **_oip_components(served),
    }
    csv_note = "A table as written by pandas.DataFrame.to_csv(), with a header row"
    if served.input_schema is not None and not served.input_schema.is_tensor_spec():
        csv_note += f" naming the columns {[str(n) for n in served.input_schema.input_names()]}"
    text = {"description": "Service is up.", "content": {"application/json": {"schema": {"type": "string"}}}}
    infer_op = {
        "summary": "Predict with the Open Inference Protocol v2.",
        "requestBody": {"required": True, "content": _json({"$ref": _REF + "OipInferRequest"})},
        "responses": {"200": {"description": "Output tensors.", "content": _json({"$ref": _REF + "OipInferResponse"})},
                      "400": _oip_error("Bad input, or values the model raised on."),
                      "404": _oip_error("Unknown model."), "408": _oip_error("Body timeout."),
                      "413": _oip_error("Body too large."), "500": _oip_error("Internal error."),
                      "504": _oip_error("Timeout.")},
    }
    name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": [served.name]}}
    status = {"200": {"description": "OK.", "content": _json({"type": "object"})}}
    paths = {
        "/invocations": {"post": {
            "summary": f"Predict with model {served.name}.",
            "operationId": "invocations",
            "requestBody": {"required": True, "content": {
                "application/json": request_media,
                "text/csv": {"schema": {"type": "string", "description": csv_note + "."}},
                "application/vnd.apache.parquet": {"schema": {
                    "type": "string", "format": "binary",
                    "description": "A Parquet file holding the table (needs pyarrow on the server)."}}}},
            "responses": {"200": {"description": "The predictions.",
                                  "content": _json({"$ref": _REF + "InvocationsResponse"})}, **_ERRORS},
        }},
        "/ping": {"get": {"summary": "Liveness: 200 once the model is loaded.", "operationId": "ping",
                          "responses": {"200": text}}},
        "/health": {"get": {"summary": "Same as /ping.", "operationId": "health", "responses": {"200": text}}},
        "/version": {"get": {"summary": "The mlcask version.", "operationId": "version", "responses": {
            "200": {"description": "Version text.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/v2/health/live": {"get": {"summary": "OIP liveness.", "operationId": "v2Live", "responses": status}},
        "/v2/health/ready": {"get": {"summary": "OIP readiness.", "operationId": "v2Ready", "responses": status}},
        "/v2/models/{name}": {"get": {
            "summary": "OIP model metadata.", "operationId": "v2ModelMetadata", "parameters": [name_param],
            "responses": {"200": {"description": "Metadata.", "content": _json({"$ref": _REF + "OipModelMetadata"})},
                          "404": _oip_error("Unknown model.")}}},
        "/v2/models/{name}/ready": {"get": {
            "summary": "OIP model readiness.", "operationId": "v2ModelReady", "parameters": [name_param],
            "responses": {**status, "404": _oip_error("Unknown model.")}}},
        "/v2/models/{name}/infer": {"post": {**infer_op, "operationId": "v2Infer", "parameters": [name_param]}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"mlcask scoring server: {served.name}", "version": __version__,
                 "description": f"Model {served.uri} (flavors: {', '.join(sorted(served.flavors))})."},
        "paths": paths,
        "components": {"schemas": components},
    }
