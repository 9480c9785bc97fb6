"""OpenAPI post-processing: the error answers every operation can give, documented once.

``wangge.api.errors.exception_handler`` turns the domain errors into 400 / 403 / 404 / 409 for every
view, and DRF answers 401 / 403 before a view runs; operations that do not declare these answers
themselves get them here, with the error body ``{detail, errors?}``.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {},
            "description": "Field errors: field → messages.",
        },
    },
    "required": ["detail"],
}
STANDARD = {
    "400": "The input is invalid: `detail` names the first bad field, `errors` lists them all.",
    "401": "Not signed in (no or a wrong token).",
    "403": "The role lacks the permission.",
    "404": "Missing, or outside the user's data scope (the two answer alike).",
}
METHODS = ("get", "post", "put", "patch", "delete")


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in STANDARD.items():
                if status not in responses:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    }
    return result
