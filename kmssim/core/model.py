"""The part of AWS's KMS API model that kmssim implements: names and member types.

The JSON protocol dispatcher, the ``%aws`` magic and the tests read operation names,
member types (which members are blobs, which are timestamps), member order and
pagination from here, so none of them needs botocore. The table itself,
`kmssim.core._model_shapes`, is generated from botocore's ``kms/2014-11-01`` service model
by ``python -m kmssim.core.model <botocore data dir>/kms/2014-11-01``
(written to ``kmssim/core/_model_shapes.py``);
a test checks it still matches the installed botocore.

A type is a scalar name (``"string"``, ``"integer"``, ``"long"``, ``"boolean"``,
``"blob"``, ``"timestamp"``, ``"double"``) or a dict: ``{"list": T}``,
``{"map": [K, V]}`` or ``{"structure": {member: T, …}, "required": [...]}``.
KMS has no recursive shapes, so nested types are written out in place.

Beside each operation's input type, the table holds its ``rules``: the same structure
with, for every member, what the model constrains (`input_rules`). A rule is a dict with
``type`` and, where the model says so, ``min``/``max`` (length of a string, list, map or
blob; value of a number), ``pattern``, ``enum`` (the whole list, in the model's order)
and ``sensitive``; a structure rule has ``members`` and ``required``, a list rule
``member``, a map rule ``key`` and ``value``. `kmssim.core.params` derives both botocore's
client-side checks and the service's checks from these rules.
"""

from __future__ import annotations

import gzip
import json
import pprint
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kmssim.core._model_shapes import OPERATIONS

__all__ = ["OPERATIONS", "TARGET_PREFIX", "method_name", "operation_for", "input_type",
           "output_type", "input_rules", "paginator", "cli_option", "trim"]

#: The ``X-Amz-Target`` prefix of KMS operations.
TARGET_PREFIX = "TrentService"

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _words(name: str) -> list[str]:
    return _WORD_BOUNDARY.split(name)


def method_name(operation: str) -> str:
    """``"ReEncrypt"`` → ``"re_encrypt"``: the boto3 (and `kmssim.KMS`) method name."""
    return "_".join(_words(operation)).lower()


def cli_option(member: str) -> str:
    """``"RotationPeriodInDays"`` → ``"--rotation-period-in-days"``, as the AWS CLI names it."""
    return "--" + "-".join(_words(member)).lower()


_BY_METHOD = {method_name(op): op for op in OPERATIONS}


def operation_for(name: str) -> str | None:
    """The AWS operation for a method (``"re_encrypt"``) or CLI command
    (``"re-encrypt"``) name; None when kmssim does not implement it."""
    return _BY_METHOD.get(name.replace("-", "_"))


def input_type(operation: str) -> dict[str, Any]:
    """The request structure type of an implemented operation."""
    return OPERATIONS[operation]["input"]


def output_type(operation: str) -> dict[str, Any]:
    """The response structure type of an implemented operation."""
    return OPERATIONS[operation]["output"]


def input_rules(operation: str) -> dict[str, Any]:
    """The constraints the model puts on an operation's request (see the module doc)."""
    return OPERATIONS[operation]["rules"]


def paginator(operation: str) -> dict[str, str] | None:
    """botocore's paginator for a List* operation (input/output token, result key)."""
    return OPERATIONS[operation].get("paginator")


# -- generating the table from botocore's model ---------------------------------------
def _type_of(shapes: Mapping[str, Any], name: str) -> Any:
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        spec: dict[str, Any] = {"structure": {m: _type_of(shapes, ref["shape"])
                                              for m, ref in shape.get("members", {}).items()}}
        if shape.get("required"):
            spec["required"] = list(shape["required"])
        return spec
    if kind == "list":
        return {"list": _type_of(shapes, shape["member"]["shape"])}
    if kind == "map":
        return {"map": [_type_of(shapes, shape["key"]["shape"]),
                        _type_of(shapes, shape["value"]["shape"])]}
    return kind


_CONSTRAINTS = ("min", "max", "pattern", "enum", "sensitive")


def _rules_of(shapes: Mapping[str, Any], name: str) -> dict[str, Any]:
    shape = shapes[name]
    kind = shape["type"]
    rule: dict[str, Any] = {"type": kind}
    rule.update((trait, shape[trait]) for trait in _CONSTRAINTS if trait in shape)
    if kind == "structure":
        rule["members"] = {m: _rules_of(shapes, ref["shape"])
                           for m, ref in shape.get("members", {}).items()}
        rule["required"] = list(shape.get("required", []))
    elif kind == "list":
        rule["member"] = _rules_of(shapes, shape["member"]["shape"])
    elif kind == "map":
        rule["key"] = _rules_of(shapes, shape["key"]["shape"])
        rule["value"] = _rules_of(shapes, shape["value"]["shape"])
    return rule


def trim(service: Mapping[str, Any], paginators: Mapping[str, Any],
         operations: Iterable[str]) -> dict[str, Any]:
    """The table for ``operations`` from botocore's ``service-2`` and ``paginators-1`` JSON."""
    table: dict[str, Any] = {}
    shapes = service["shapes"]
    for name in sorted(operations):
        spec = service["operations"][name]
        empty: dict[str, Any] = {"structure": {}}
        entry: dict[str, Any] = {
            "input": _type_of(shapes, spec["input"]["shape"]) if "input" in spec else empty,
            "output": _type_of(shapes, spec["output"]["shape"]) if "output" in spec else empty,
            "rules": (_rules_of(shapes, spec["input"]["shape"]) if "input" in spec
                      else {"type": "structure", "members": {}, "required": []}),
        }
        if name in paginators.get("pagination", {}):
            entry["paginator"] = dict(paginators["pagination"][name])
        table[name] = entry
    return table


def _load(path: Path) -> Any:
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return json.loads(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))


def _regenerate(model_dir: str) -> str:
    """Source of `kmssim.core._model_shapes` for the operations `kmssim.KMS` has."""
    from kmssim.core.kms import KMS
    folder = Path(model_dir)
    service = _load(folder / "service-2.json")
    implemented = [op for op in service["operations"] if callable(getattr(KMS, method_name(op),
                                                                          None))]
    table = trim(service, _load(folder / "paginators-1.json"), implemented)
    # The table holds only dicts, lists, strings, numbers and booleans: its repr is the
    # Python literal (``sort_dicts=False`` keeps the model's member order).
    body = pprint.pformat(table, indent=1, width=96, sort_dicts=False)
    return ('"""Generated by ``python -m kmssim.core.model`` from botocore\'s KMS model '
            f'(API {service["metadata"]["apiVersion"]}); do not edit."""\n\n'
            "from typing import Any\n\nOPERATIONS: dict[str, Any] = " + body + "\n")


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if len(sys.argv) != 2:
        sys.exit("usage: python -m kmssim.core.model <botocore>/data/kms/2014-11-01")
    sys.stdout.write(_regenerate(sys.argv[1]))
