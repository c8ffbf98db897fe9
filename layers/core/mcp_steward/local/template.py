"""The SAM template as the local plane sees it: short-form YAML tags, intrinsics resolved with local
pseudo-parameters and physical names, SAM ``Globals`` merged into functions.

Only the constructs the local plane needs are supported (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select,
Fn::If, Fn::FindInMap and the condition functions); anything else raises :class:`TemplateError` naming
the resource and the construct, so a template the plane cannot run faithfully fails at start, not later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "FunctionSpec",
    "LocalTemplate",
    "SecretSpec",
    "TableSpec",
    "TemplateError",
    "load_template_document",
]

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
TABLE_TYPE = "AWS::DynamoDB::Table"
SIMPLE_TABLE_TYPE = "AWS::Serverless::SimpleTable"
SECRET_TYPE = "AWS::SecretsManager::Secret"

DEFAULT_STACK_NAME = "steward-local"
DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "000000000000"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")


class TemplateError(ValueError):
    """The template cannot be loaded or uses a construct the local plane does not support."""


class _NoValue:
    """``AWS::NoValue``: the key (or list item) holding it is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# --- YAML -----------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that turns CloudFormation short-form tags (``!Ref X``) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported YAML node for !{tag_suffix}")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template_document(text: str) -> dict[str, Any]:
    """Parse CloudFormation YAML (short-form intrinsics included) into plain Python values.

    Raises:
        TemplateError: the text is not YAML or its top level is not a mapping.
    """
    try:
        document = yaml.load(text, Loader=CfnLoader)  # CfnLoader derives from SafeLoader
    except yaml.YAMLError as exc:
        raise TemplateError(f"template is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise TemplateError("template's top level is not a mapping")
    return document


# --- specs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with Globals merged and intrinsics resolved."""

    logical_id: str
    function_name: str
    function_arn: str
    code_dir: Path
    handler: str
    runtime: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str] = field(default_factory=dict)
    layer_dirs: list[Path] = field(default_factory=list)
    #: ``ReservedConcurrentExecutions`` when the template sets it (the local runner's per-function limit).
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table; ``create_table_kwargs`` come from the template's own key schema."""

    logical_id: str
    table_name: str
    create_table_kwargs: dict[str, Any]
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class SecretSpec:
    """A Secrets Manager secret; locally its name is used as the SecretId."""

    logical_id: str
    name: str
    arn: str


# --- resolver -------------------------------------------------------------------------------------------


class _Resolver:
    """Resolves intrinsic functions against one template and a set of local pseudo-parameters."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        stack_name: str,
        region: str,
        parameter_overrides: Mapping[str, str],
    ) -> None:
        self.document = document
        self.stack_name = stack_name
        self.region = region
        self.account_id = LOCAL_ACCOUNT_ID
        self.resources: dict[str, Any] = dict(document.get("Resources") or {})
        self.mappings: dict[str, Any] = dict(document.get("Mappings") or {})
        self.condition_defs: dict[str, Any] = dict(document.get("Conditions") or {})
        self.parameters = self._parameter_values(dict(document.get("Parameters") or {}), parameter_overrides)
        self._conditions: dict[str, bool] = {}
        self._names_in_progress: set[str] = set()
        self.pseudo: dict[str, Any] = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{self.account_id}:stack/{stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }

    @staticmethod
    def _parameter_values(declared: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"parameter overrides name undeclared parameters: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in overrides:
                raw: Any = overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                continue  # a Ref to it fails loudly; a template may declare parameters it never reads locally
            text = _stringify(raw)
            kind = str(spec.get("Type", "String"))
            values[name] = (
                [item.strip() for item in text.split(",")]
                if kind.startswith("List<") or kind == ("CommaDelimitedList")
                else text
            )
        return values

    # -- entry point

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self._ref(argument, where)
            if key.startswith("Fn::"):
                return self._function(key, argument, where)
        resolved: dict[str, Any] = {}
        for key, item in value.items():
            result = self.resolve(item, f"{where}.{key}")
            if result is not NO_VALUE:
                resolved[key] = result
        return resolved

    def _function(self, name: str, argument: Any, where: str) -> Any:
        handlers = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::If": self._if,
            "Fn::FindInMap": self._find_in_map,
        }
        handler = handlers.get(name)
        if handler is None:
            allowed = "condition functions belong in Conditions or Fn::If" if name in _CONDITION_FUNCTIONS else ""
            raise TemplateError(f"{where}: {name} is not supported by the local plane {allowed}".rstrip())
        return handler(argument, where)

    # -- Ref and GetAtt

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref takes a name, got {name!r}")
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            raise TemplateError(f"{where}: pseudo-parameter {name} is not supported by the local plane")
        if name in self.parameters:
            return self.parameters[name]
        declared = self.document.get("Parameters") or {}
        if name in declared:
            raise TemplateError(f"{where}: parameter {name} has no Default and no override")
        if name in self.resources:
            return self.physical_name(name)
        raise TemplateError(f"{where}: Ref to unknown name {name}")

    def resource_type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict):
            raise TemplateError(f"unknown resource {logical_id}")
        return str(resource.get("Type", ""))

    def physical_name(self, logical_id: str) -> str:
        kind = self.resource_type(logical_id)
        properties = self.resources[logical_id].get("Properties") or {}
        name_property = {
            TABLE_TYPE: "TableName",
            SIMPLE_TABLE_TYPE: "TableName",
            SECRET_TYPE: "Name",
            FUNCTION_TYPE: "FunctionName",
            LAYER_TYPE: "LayerName",
        }.get(kind)
        if name_property and name_property in properties:
            if logical_id in self._names_in_progress:
                raise TemplateError(f"Resources.{logical_id}: its {name_property} refers to itself")
            self._names_in_progress.add(logical_id)
            try:
                name = self.resolve(properties[name_property], f"Resources.{logical_id}.Properties.{name_property}")
            finally:
                self._names_in_progress.discard(logical_id)
            if name is not NO_VALUE:
                return _stringify(name)
        return f"{self.stack_name}-{logical_id}"

    def arn(self, logical_id: str, where: str) -> str:
        kind = self.resource_type(logical_id)
        name = self.physical_name(logical_id)
        prefix = f"arn:aws:{{service}}:{self.region}:{self.account_id}"
        if kind in (TABLE_TYPE, SIMPLE_TABLE_TYPE):
            return prefix.format(service="dynamodb") + f":table/{name}"
        if kind == FUNCTION_TYPE:
            return prefix.format(service="lambda") + f":function:{name}"
        if kind == SECRET_TYPE:
            # AWS appends six random characters; locally they are derived from the name so they are stable.
            suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
            return prefix.format(service="secretsmanager") + f":secret:{name}-{suffix}"
        if kind == LAYER_TYPE:
            return prefix.format(service="lambda") + f":layer:{name}:1"
        raise TemplateError(f"{where}: Fn::GetAtt {logical_id}.Arn is not supported for {kind} by the local plane")

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute], got {argument!r}")
        logical_id, attribute = (self.resolve(part, where) for part in argument)
        if logical_id not in self.resources:
            raise TemplateError(f"{where}: Fn::GetAtt of unknown resource {logical_id}")
        if attribute == "Arn":
            return self.arn(logical_id, where)
        if attribute == "Name" and self.resource_type(logical_id) == SECRET_TYPE:
            return self.physical_name(logical_id)
        kind = self.resource_type(logical_id)
        raise TemplateError(f"{where}: Fn::GetAtt {logical_id}.{attribute} ({kind}) is not supported locally")

    # -- string functions

    def _sub(self, argument: Any, where: str) -> str:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise TemplateError(f"{where}: Fn::Sub takes a string or [string, {{variables}}]")
            argument, raw_variables = argument
            variables = {key: self.resolve(item, f"{where}.{key}") for key, item in raw_variables.items()}
        if not isinstance(argument, str):
            raise TemplateError(f"{where}: Fn::Sub template must be a string, got {argument!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return _stringify(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return _stringify(self._get_att(name.split(".", 1), where))
            return _stringify(self._ref(name, where))

        return _SUB_VARIABLE.sub(replace, argument)

    def _join(self, argument: Any, where: str) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{where}: Fn::Join takes [delimiter, [values]]")
        delimiter = self.resolve(argument[0], where)
        values = self.resolve(argument[1], where)
        if not isinstance(delimiter, str) or not isinstance(values, list):
            raise TemplateError(f"{where}: Fn::Join takes [delimiter, [values]]")
        return delimiter.join(_stringify(item) for item in values)

    def _select(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"{where}: Fn::Select takes [index, [values]]")
        index = self.resolve(argument[0], where)
        values = self.resolve(argument[1], where)
        try:
            position = int(index)
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"{where}: Fn::Select index {index!r} is not an integer") from exc
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise TemplateError(f"{where}: Fn::Select index {position} is out of range")
        return values[position]

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise TemplateError(f"{where}: Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
        map_name, top, second = (_stringify(self.resolve(part, where)) for part in argument)
        try:
            return self.mappings[map_name][top][second]
        except (KeyError, TypeError) as exc:
            raise TemplateError(f"{where}: Fn::FindInMap found no {map_name}.{top}.{second}") from exc

    # -- conditions

    def _if(self, argument: Any, where: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            raise TemplateError(f"{where}: Fn::If takes [ConditionName, value_if_true, value_if_false]")
        chosen = argument[1] if self.condition(argument[0], where) else argument[2]
        return self.resolve(chosen, where)

    def condition(self, name: str, where: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.condition_defs:
            raise TemplateError(f"{where}: unknown condition {name}")
        self._conditions[name] = False  # provisional, so a cycle terminates instead of recursing forever
        value = self._evaluate(self.condition_defs[name], f"Conditions.{name}")
        self._conditions[name] = value
        return value

    def _evaluate(self, expression: Any, where: str) -> bool:
        if not (isinstance(expression, dict) and len(expression) == 1):
            raise TemplateError(f"{where}: a condition must be one condition function, got {expression!r}")
        (key, argument), *_ = expression.items()
        if key == "Condition":
            return self.condition(str(argument), where)
        if key == "Fn::Equals":
            if not (isinstance(argument, list) and len(argument) == 2):
                raise TemplateError(f"{where}: Fn::Equals takes two values")
            left, right = (self.resolve(item, where) for item in argument)
            return _stringify(left) == _stringify(right)
        if key == "Fn::Not":
            if not (isinstance(argument, list) and len(argument) == 1):
                raise TemplateError(f"{where}: Fn::Not takes one condition")
            return not self._evaluate(argument[0], where)
        if key in ("Fn::And", "Fn::Or"):
            if not (isinstance(argument, list) and 2 <= len(argument) <= 10):
                raise TemplateError(f"{where}: {key} takes 2 to 10 conditions")
            results = [self._evaluate(item, where) for item in argument]
            return all(results) if key == "Fn::And" else any(results)
        raise TemplateError(f"{where}: {key} is not a condition function supported by the local plane")


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


# --- Globals --------------------------------------------------------------------------------------------

# SAM: maps merge (the resource wins), lists are additive (globals first), scalars are overridden.
_REPLACED_LISTS = frozenset({"Architectures"})


def _merge_globals(global_value: Any, own_value: Any, key: str = "") -> Any:
    if isinstance(global_value, dict) and isinstance(own_value, dict) and not _is_intrinsic(own_value):
        merged = dict(global_value)
        for item_key, item in own_value.items():
            merged[item_key] = _merge_globals(global_value[item_key], item, item_key) if item_key in merged else item
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list) and key not in _REPLACED_LISTS:
        return [*global_value, *own_value]
    return own_value


def _is_intrinsic(value: dict[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


# --- the template ---------------------------------------------------------------------------------------


class LocalTemplate:
    """A loaded SAM template with local physical names; see :meth:`load`."""

    def __init__(self, document: Mapping[str, Any], base_dir: Path, resolver: _Resolver) -> None:
        self.document = document
        self.base_dir = base_dir
        self._resolver = resolver
        self._functions: dict[str, FunctionSpec] | None = None

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        parameter_overrides: dict[str, str] | None = None,
    ) -> LocalTemplate:
        """Read and parse a SAM template.

        Args:
            path: the template file; ``CodeUri`` and ``ContentUri`` are relative to its directory.
            stack_name: the value of ``AWS::StackName`` (and the prefix of default physical names).
            region: the value of ``AWS::Region``.
            parameter_overrides: values for template ``Parameters``, replacing their defaults.

        Raises:
            TemplateError: the file is not a template, or overrides name undeclared parameters.
            OSError: the file cannot be read.
        """
        template_path = Path(path).resolve()
        document = load_template_document(template_path.read_text(encoding="utf-8"))
        resources = document.get("Resources")
        if not isinstance(resources, dict):
            raise TemplateError(f"{template_path}: template has no Resources mapping")
        resolver = _Resolver(
            document, stack_name=stack_name, region=region, parameter_overrides=parameter_overrides or {}
        )
        return cls(document, template_path.parent, resolver)

    @property
    def stack_name(self) -> str:
        return self._resolver.stack_name

    @property
    def region(self) -> str:
        return self._resolver.region

    @property
    def account_id(self) -> str:
        return self._resolver.account_id

    def resolve(self, value: Any, *, where: str = "value") -> Any:
        """Resolve every intrinsic in a template fragment (``AWS::NoValue`` removes keys and list items).

        Raises:
            TemplateError: the fragment uses an unsupported construct or names something unknown.
        """
        return self._resolver.resolve(value, where)

    def condition(self, name: str) -> bool:
        """The value of a condition declared under ``Conditions``.

        Raises:
            TemplateError: the condition is unknown or uses an unsupported construct.
        """
        return self._resolver.condition(name, f"Conditions.{name}")

    def physical_name(self, logical_id: str) -> str:
        """The local physical name of a resource (what ``Ref`` gives for tables, secrets and functions)."""
        return self._resolver.physical_name(logical_id)

    def _resources_of(self, *kinds: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self._resolver.resources.items():
            if not isinstance(resource, dict) or resource.get("Type") not in kinds:
                continue
            condition = resource.get("Condition")
            if condition is not None and not self._resolver.condition(str(condition), f"Resources.{logical_id}"):
                continue
            found[logical_id] = resource
        return found

    # -- functions

    def functions(self) -> dict[str, FunctionSpec]:
        """Every ``AWS::Serverless::Function``, keyed by logical ID, with Globals merged.

        Raises:
            TemplateError: a function lacks a property the local plane needs or uses an unsupported construct.
        """
        if self._functions is None:
            globals_ = ((self.document.get("Globals") or {}).get("Function")) or {}
            self._functions = {
                logical_id: self._function_spec(logical_id, _merge_globals(globals_, resource.get("Properties") or {}))
                for logical_id, resource in self._resources_of(FUNCTION_TYPE).items()
            }
        return dict(self._functions)

    def _function_spec(self, logical_id: str, properties: dict[str, Any]) -> FunctionSpec:
        where = f"Resources.{logical_id}.Properties"

        def required(key: str) -> Any:
            if key not in properties:
                raise TemplateError(f"{where}: {key} is required by the local plane (not set here nor in Globals)")
            return self.resolve(properties[key], where=f"{where}.{key}")

        code_uri = required("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{where}.CodeUri: the local plane needs a local directory, got {code_uri!r}")
        variables = ((properties.get("Environment") or {}).get("Variables")) or {}
        environment = self.resolve(variables, where=f"{where}.Environment.Variables")
        name = self.physical_name(logical_id)
        return FunctionSpec(
            logical_id=logical_id,
            function_name=name,
            function_arn=self._resolver.arn(logical_id, where),
            code_dir=(self.base_dir / code_uri).resolve(),
            handler=_stringify(required("Handler")),
            runtime=_stringify(required("Runtime")),
            timeout_s=int(self.resolve(properties.get("Timeout", 3), where=f"{where}.Timeout")),
            memory_mb=int(self.resolve(properties.get("MemorySize", 128), where=f"{where}.MemorySize")),
            environment={key: _stringify(value) for key, value in environment.items()},
            layer_dirs=self._layer_dirs(properties.get("Layers") or [], f"{where}.Layers"),
            reserved_concurrency=self._reserved_concurrency(properties, where),
        )

    def _reserved_concurrency(self, properties: dict[str, Any], where: str) -> int | None:
        if "ReservedConcurrentExecutions" not in properties:
            return None
        value = self.resolve(properties["ReservedConcurrentExecutions"], where=f"{where}.ReservedConcurrentExecutions")
        if value is None or value is NO_VALUE:
            return None
        try:
            reserved = int(value)
        except (TypeError, ValueError):
            raise TemplateError(f"{where}.ReservedConcurrentExecutions: not a number: {value!r}") from None
        if reserved < 0:
            raise TemplateError(f"{where}.ReservedConcurrentExecutions: must be 0 or more, got {reserved}")
        return reserved

    def _layer_dirs(self, layers: list[Any], where: str) -> list[Path]:
        dirs: list[Path] = []
        for index, layer in enumerate(layers):
            # A layer declared in this template is installed in the venv locally; others (ARNs) are ignored.
            if isinstance(layer, dict) and set(layer) == {"Ref"} and layer["Ref"] in self._resolver.resources:
                logical_id = layer["Ref"]
                if self._resolver.resource_type(logical_id) != LAYER_TYPE:
                    raise TemplateError(f"{where}[{index}]: {logical_id} is not an {LAYER_TYPE}")
                properties = self._resolver.resources[logical_id].get("Properties") or {}
                content_uri = self.resolve(properties.get("ContentUri"), where=f"Resources.{logical_id}.ContentUri")
                if isinstance(content_uri, str):
                    dirs.append((self.base_dir / content_uri).resolve())
            else:
                self.resolve(layer, where=f"{where}[{index}]")  # still fails loudly on unsupported constructs
        return dirs

    def function_by_name(self, name_or_id: str) -> FunctionSpec | None:
        """Find a function by physical name, logical ID or ARN (a ``:qualifier`` suffix is ignored)."""
        if name_or_id.startswith("arn:"):
            parts = name_or_id.split(":")
            if len(parts) < 7 or parts[5] != "function":
                return None
            name = parts[6]
        else:
            # Lambda also accepts "NAME:QUALIFIER" and the partial ARN "ACCOUNT:function:NAME".
            parts = name_or_id.split(":")
            name = parts[2] if len(parts) >= 3 and parts[1] == "function" else parts[0]
        for spec in self.functions().values():
            if name in (spec.function_name, spec.logical_id):
                return spec
        return None

    # -- tables and secrets

    def tables(self) -> dict[str, TableSpec]:
        """Every DynamoDB table (``AWS::DynamoDB::Table`` and ``AWS::Serverless::SimpleTable``).

        Raises:
            TemplateError: a table uses an unsupported construct.
        """
        specs: dict[str, TableSpec] = {}
        for logical_id, resource in self._resources_of(TABLE_TYPE, SIMPLE_TABLE_TYPE).items():
            where = f"Resources.{logical_id}.Properties"
            properties = self.resolve(resource.get("Properties") or {}, where=where)
            name = self.physical_name(logical_id)
            if resource["Type"] == SIMPLE_TABLE_TYPE:
                specs[logical_id] = _simple_table(logical_id, name, properties)
            else:
                specs[logical_id] = _table(logical_id, name, properties)
        return specs

    def secrets(self) -> dict[str, SecretSpec]:
        """Every ``AWS::SecretsManager::Secret``, keyed by logical ID."""
        return {
            logical_id: SecretSpec(
                logical_id=logical_id,
                name=self.physical_name(logical_id),
                arn=self._resolver.arn(logical_id, f"Resources.{logical_id}"),
            )
            for logical_id in self._resources_of(SECRET_TYPE)
        }


def _table(logical_id: str, name: str, properties: dict[str, Any]) -> TableSpec:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    index_keys = ("IndexName", "KeySchema", "Projection")
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(index_kind):
            kwargs[index_kind] = [{k: index[k] for k in index_keys if k in index} for index in properties[index_kind]]
    stream = properties.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    ttl = properties.get("TimeToLiveSpecification") or {}
    enabled = ttl.get("Enabled") in (True, "true", "True")
    return TableSpec(logical_id, name, kwargs, ttl_attribute=ttl.get("AttributeName") if enabled else None)


def _simple_table(logical_id: str, name: str, properties: dict[str, Any]) -> TableSpec:
    key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    attribute_type = {"String": "S", "Number": "N", "Binary": "B"}.get(str(key.get("Type", "String")))
    if attribute_type is None:
        raise TemplateError(f"Resources.{logical_id}.Properties.PrimaryKey.Type must be String, Number or Binary")
    kwargs = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": attribute_type}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    return TableSpec(logical_id, name, kwargs)
