"""Template tests: the invariants of infra/template.yaml that docs/design.md sections 2, 4, 8 and 9 state.

`make validate` runs the real `sam validate --lint` (SAM CLI lives in its own venv); the cfn-lint test below is
its in-suite equivalent and needs no SAM CLI.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.http.discovery import MCP_PATH, REALM, WELL_KNOWN_PATH
from mcp_steward.local.template import load_template_document

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "template.yaml"
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
TABLE_TYPES = frozenset({"AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable", "AWS::DynamoDB::GlobalTable"})
STACK_PREFIX = "${AWS::StackName}-"
TOOL_PREFIX = "${AWS::StackName}-tool-"
API_GATEWAY_INTEGRATION_TIMEOUT_S = 29
INVOKE_MARGIN_S = 2  # governance's read timeout = the tool's timeout + this margin (docs/design.md section 3, step 8)
HR_SECRET = "HrDirectorySecret"
HR_FUNCTION = "HrDirectoryFunction"
# Values substituted for pseudo parameters when a wildcard ARN is matched against a concrete one.
PSEUDO = {
    "AWS::StackName": "stack",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template_document(TEMPLATE_PATH.read_text(encoding="utf-8"))


def _resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    return resources


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in _resources(template).items() if res["Type"] in FUNCTION_TYPES}


def _function_globals(template: dict[str, Any]) -> dict[str, Any]:
    function_globals: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    return function_globals


def _prop(template: dict[str, Any], function: dict[str, Any], name: str) -> Any:
    """A function property, falling back to Globals.Function as SAM does."""
    return function.get("Properties", {}).get(name, _function_globals(template).get(name))


def _function_name(function: dict[str, Any]) -> str:
    name = function.get("Properties", {}).get("FunctionName")
    if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
        return str(name["Fn::Sub"])
    return str(name)


def _tool_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: fn for lid, fn in _functions(template).items() if _function_name(fn).startswith(TOOL_PREFIX)}


def _code_dir(function: dict[str, Any]) -> Path:
    return (TEMPLATE_PATH.parent / str(function["Properties"]["CodeUri"])).resolve()


# --- IAM statements, normalized ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One Allow statement as the role holding it sees it (managed policies and SAM templates included)."""

    owner: str  # logical ID of the function whose role holds it (or of the role, if no function uses it)
    actions: tuple[str, ...]
    resources: tuple[Any, ...]
    not_action: bool = False

    def grants(self, action: str) -> bool:
        if self.not_action:  # NotAction grants everything it does not name: treat as granting all
            return True
        return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _document_statements(owner: str, document: Any) -> Iterator[Statement]:
    for raw in _as_list(document.get("Statement", []) if isinstance(document, dict) else []):
        if not isinstance(raw, dict) or raw.get("Effect") != "Allow":
            continue
        actions = tuple(str(a) for a in _as_list(raw.get("Action", raw.get("NotAction", []))))
        resources = tuple(_as_list(raw.get("Resource", raw.get("NotResource", "*"))))
        yield Statement(owner, actions, resources, not_action="NotAction" in raw)


def _managed_policy_statement(owner: str, name: Any) -> Statement:
    """Managed policies are opaque here: assume the broad ones grant what their names suggest, on everything."""
    text = str(name)
    actions: list[str] = []
    if re.search(r"Admin|PowerUser|Secret", text):
        actions.append("*" if "Secret" not in text else "secretsmanager:*")
    if re.search(r"Lambda(Role|_FullAccess)", text):
        actions.append("lambda:InvokeFunction")
    return Statement(owner, tuple(actions), ("*",))


def _sam_policy_template_statements(owner: str, policy: dict[str, Any]) -> Iterator[Statement]:
    """SAM policy templates, mapped to what they grant for the checks here."""
    for name, params in policy.items():
        params = params if isinstance(params, dict) else {}
        if "Secret" in name:
            yield Statement(owner, ("secretsmanager:GetSecretValue",), (params.get("SecretArn", "*"),))
        elif "LambdaInvoke" in name:
            yield Statement(owner, ("lambda:InvokeFunction",), (params.get("FunctionName", "*"),))


def _role_owners(template: dict[str, Any]) -> dict[str, str]:
    """Role logical ID -> the function using it (SAM names a function's generated role <Function>Role)."""
    owners = {f"{lid}Role": lid for lid in _functions(template)}
    for lid, fn in _functions(template).items():
        role = fn.get("Properties", {}).get("Role")
        if isinstance(role, dict):
            target = role.get("Fn::GetAtt", role.get("Ref"))
            owners[str(_as_list(target)[0])] = lid
    return owners


def _statements(template: dict[str, Any]) -> list[Statement]:
    role_owners = _role_owners(template)
    found: list[Statement] = []
    for lid, res in _resources(template).items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            for policy in _as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    found.extend(_document_statements(lid, policy))
                elif isinstance(policy, dict) and not any(k.startswith("Fn::") or k == "Ref" for k in policy):
                    found.extend(_sam_policy_template_statements(lid, policy))
                else:
                    found.append(_managed_policy_statement(lid, policy))
        elif res["Type"] == "AWS::IAM::Role":
            owner = role_owners.get(lid, lid)
            for policy in props.get("Policies", []):
                found.extend(_document_statements(owner, policy.get("PolicyDocument")))
            found.extend(_managed_policy_statement(owner, arn) for arn in props.get("ManagedPolicyArns", []))
        elif res["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            for role in props.get("Roles", []):
                role_id = str(role.get("Ref")) if isinstance(role, dict) else str(role)
                found.extend(_document_statements(role_owners.get(role_id, role_id), props.get("PolicyDocument")))
    return found


def _referenced_ids(expr: Any) -> set[str]:
    """Logical IDs an expression refers to through Ref, GetAtt or Sub placeholders."""
    if isinstance(expr, list):
        return set().union(*(_referenced_ids(e) for e in expr)) if expr else set()
    if not isinstance(expr, dict):
        return set()
    ids: set[str] = set()
    for key, value in expr.items():
        if key == "Ref":
            ids.add(str(value))
        elif key == "Fn::GetAtt":
            ids.add(str(_as_list(value)[0]).split(".")[0])
        elif key == "Fn::Sub":
            text = value[0] if isinstance(value, list) else value
            ids.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", str(text)))
            if isinstance(value, list) and len(value) > 1:
                ids |= _referenced_ids(value[1])
        else:
            ids |= _referenced_ids(value)
    return ids


def _render(expr: Any) -> str | None:
    """A literal or Sub string with pseudo parameters filled in; None for anything else."""
    text = expr if isinstance(expr, str) else expr.get("Fn::Sub") if isinstance(expr, dict) else None
    if not isinstance(text, str):
        return None
    return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO.get(m.group(1), m.group(0)), text)


def _covers_hr_secret(resource: Any) -> bool:
    if HR_SECRET in _referenced_ids(resource):
        return True
    rendered = _render(resource)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stack/hr-directory/datastore-AbCdEf"
    return rendered is not None and fnmatch.fnmatchcase(arn, rendered)


# --- the tests ---------------------------------------------------------------------------------------------


def test_governance_function_keeps_its_logical_id_handler_and_code_dir(template: dict[str, Any]) -> None:
    governance = _functions(template).get("GovernanceFunction")
    assert governance is not None, "GovernanceFunction is a stable interface (docs/design.md section 10)"
    assert _prop(template, governance, "Handler") == "app.handler"
    assert _code_dir(governance).is_dir(), f"CodeUri {_code_dir(governance)} does not exist"


def test_core_layer_content_uri_is_the_import_root(template: dict[str, Any]) -> None:
    layer = _resources(template)["CoreLayer"]
    content = (TEMPLATE_PATH.parent / layer["Properties"]["ContentUri"]).resolve()
    assert content == ROOT / "layers" / "core"
    assert (content / "requirements.txt").is_file()
    assert {"Ref": "CoreLayer"} in _function_globals(template)["Layers"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_timeouts_nest_tool_plus_margin_below_governance_within_api_gateway(template: dict[str, Any]) -> None:
    governance_timeout = int(_prop(template, _functions(template)["GovernanceFunction"], "Timeout"))
    tools = _tool_functions(template)
    assert tools, "expected at least one internal tool function"
    # API Gateway's integration timeout is 29 s; governance must answer before it.
    assert governance_timeout <= API_GATEWAY_INTEGRATION_TIMEOUT_S - 1
    for lid, tool in tools.items():
        tool_timeout = int(_prop(template, tool, "Timeout"))
        assert tool_timeout + INVOKE_MARGIN_S < governance_timeout, lid


def test_every_function_name_starts_with_the_stack_name(template: dict[str, Any]) -> None:
    for lid, fn in _functions(template).items():
        assert _function_name(fn).startswith(STACK_PREFIX), f"{lid} needs FunctionName !Sub {STACK_PREFIX}<role>"


def test_no_reserved_concurrency_unless_the_parameter_asks_for_it(template: dict[str, Any]) -> None:
    assert "ReservedConcurrentExecutions" not in _function_globals(template)
    parameter = template["Parameters"]["ReservedConcurrency"]
    assert int(parameter["Default"]) == 0
    for lid, fn in _functions(template).items():
        setting = fn.get("Properties", {}).get("ReservedConcurrentExecutions")
        if setting is None:
            continue
        assert isinstance(setting, dict), f"{lid} reserves concurrency unconditionally"
        condition, when_true, when_false = setting["Fn::If"]
        assert when_true == {"Ref": "ReservedConcurrency"}, lid
        assert when_false == {"Ref": "AWS::NoValue"}, lid
        assert template["Conditions"][condition] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "0"]}]
        }, lid


def test_every_table_is_on_demand_recoverable_encrypted_and_retained(template: dict[str, Any]) -> None:
    tables = {lid: res for lid, res in _resources(template).items() if res["Type"] in TABLE_TYPES}
    assert {"KeysTable", "RegistryTable", "GrantsTable", "RatesTable", "DirectoryTable"} <= tables.keys()
    for lid, table in tables.items():
        assert table["Type"] == "AWS::DynamoDB::Table", f"{lid}: plain CloudFormation (the local plane reads it)"
        props = table["Properties"]
        assert "TableName" not in props, lid
        assert props["BillingMode"] == "PAY_PER_REQUEST", lid
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, lid
        assert props["SSESpecification"]["SSEEnabled"] is True, lid
        assert table["DeletionPolicy"] == "Retain", lid
        assert table["UpdateReplacePolicy"] == "Retain", lid


def test_governance_invokes_tools_by_name_prefix(template: dict[str, Any]) -> None:
    invoke = [s for s in _statements(template) if s.owner == "GovernanceFunction" and s.grants("lambda:InvokeFunction")]
    assert invoke, "governance must be allowed to invoke the tool functions"
    for statement in invoke:
        for resource in statement.resources:
            rendered = _render(resource)
            assert rendered is not None, resource
            stack = PSEUDO["AWS::StackName"]
            assert rendered.endswith((f":function:{stack}-tool-*", f":function:{stack}-egress")), rendered


def test_only_the_egress_function_reads_vendor_secrets_and_nothing_else(template: dict[str, Any]) -> None:
    stack = PSEUDO["AWS::StackName"]
    vendor = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{stack}/vendor/weather-AbCdEf"
    readers = {
        s.owner
        for s in _statements(template)
        if s.grants("secretsmanager:GetSecretValue")
        and any(fnmatch.fnmatchcase(vendor, _render(r) or "") for r in s.resources)
    }
    assert readers == {"EgressFunction"}
    egress = [s for s in _statements(template) if s.owner == "EgressFunction"]
    assert [_render(r) for s in egress for r in s.resources] == [
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{stack}/vendor/*"
    ]


def test_governance_knows_the_egress_function_and_its_timeout(template: dict[str, Any]) -> None:
    functions = _functions(template)
    governance = functions["GovernanceFunction"]["Properties"]
    egress = functions["EgressFunction"]["Properties"]
    assert egress["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-egress"}
    variables = governance["Environment"]["Variables"]
    assert variables["EGRESS_FUNCTION_NAME"] == egress["FunctionName"]
    assert int(variables["EGRESS_TIMEOUT_S"]) == egress["Timeout"]
    assert egress["Timeout"] + 2 < governance["Timeout"]


def test_no_invoke_permission_names_a_function_resource(template: dict[str, Any]) -> None:
    functions = set(_functions(template))
    for statement in _statements(template):
        if not statement.grants("lambda:InvokeFunction"):
            continue
        named = _referenced_ids(list(statement.resources)) & functions
        assert not named, f"{statement.owner} may invoke {named} by !Ref/!GetAtt: a cycle (docs/design.md section 2)"


def test_only_the_hr_directory_function_reads_the_hr_secret(template: dict[str, Any]) -> None:
    readers = {
        s.owner
        for s in _statements(template)
        if s.grants("secretsmanager:GetSecretValue") and any(_covers_hr_secret(r) for r in s.resources)
    }
    assert readers == {HR_FUNCTION}


def test_the_governance_functions_read_only_the_delegation_key(template: dict[str, Any]) -> None:
    """Governance and nested governance: no secret but the delegation key, and no decrypt of anything."""
    for owner in ("GovernanceFunction", "NestedGovernanceFunction"):
        statements = [s for s in _statements(template) if s.owner == owner]
        assert statements, owner
        assert not any(s.grants("kms:Decrypt") or s.grants("secretsmanager:BatchGetSecretValue") for s in statements)
        readers = [s for s in statements if s.grants("secretsmanager:GetSecretValue")]
        assert [list(s.resources) for s in readers] == [[{"Ref": "DelegationKeySecret"}]], owner


def test_event_dirs_match_function_code_dirs(template: dict[str, Any]) -> None:
    events = ROOT / "events"
    event_dirs = {p.name for p in events.iterdir() if p.is_dir()} if events.is_dir() else set()
    if not event_dirs:
        pytest.skip("events/ holds no function directories yet")
    code_dirs = {_code_dir(fn).name for fn in _functions(template).values()}
    assert event_dirs <= code_dirs, f"events/ dirs without a function: {sorted(event_dirs - code_dirs)}"


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    from cfnlint.api import ManualArgs, lint_file

    # Informational checks included, as `sam validate --lint` would show them too.
    matches = lint_file(TEMPLATE_PATH, config=ManualArgs(include_checks=["I"], regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


# --- MCP authorization discovery (RFC 9728) ----------------------------------------------------------------

METADATA_PATHS = {WELL_KNOWN_PATH, WELL_KNOWN_PATH + MCP_PATH}


def _api_events(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Api event of every function, by ``<function>.<event>``."""
    return {
        f"{lid}.{name}": event["Properties"]
        for lid, fn in _functions(template).items()
        for name, event in fn.get("Properties", {}).get("Events", {}).items()
        if event["Type"] == "Api"
    }


def test_the_metadata_routes_reach_governance_without_the_authorizer_and_nothing_else_does(
    template: dict[str, Any],
) -> None:
    public = {key: props for key, props in _api_events(template).items() if props.get("Auth", {}).get("Authorizer")}
    assert {props["Path"] for props in public.values()} == METADATA_PATHS
    for key, props in public.items():
        assert key.startswith("GovernanceFunction."), key
        assert props["Auth"] == {"Authorizer": "NONE"}, key
        assert props["Method"] == "get", key
        assert props["RestApiId"] == {"Ref": "McpApi"}, key
    assert _resources(template)["McpApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "StewardAuthorizer"


def test_the_gateways_401_names_the_metadata_url_of_the_custom_domain(template: dict[str, Any]) -> None:
    unauthorized = _resources(template)["McpApi"]["Properties"]["GatewayResponses"]["UNAUTHORIZED"]
    assert unauthorized["StatusCode"] == 401
    condition, with_domain, without = unauthorized["ResponseParameters"]["Headers"]["WWW-Authenticate"]["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    url = f"https://${{DomainName}}{WELL_KNOWN_PATH}{MCP_PATH}"
    assert with_domain == {"Fn::Sub": f'\'Bearer realm="{REALM}", resource_metadata="{url}"\''}
    # Without a domain the execute-api host is the API's own ID, which its definition cannot name (a cycle).
    assert without == f"'Bearer realm=\"{REALM}\"'"


def test_a_custom_domain_is_optional_and_maps_the_api_at_its_root(template: dict[str, Any]) -> None:
    for name in ("DomainName", "CertificateArn", "OidcIssuer"):
        assert template["Parameters"][name]["Default"] == "", name
    domain, mapping = _resources(template)["McpDomain"], _resources(template)["McpBasePathMapping"]
    assert domain["Condition"] == mapping["Condition"] == "CreatesDomain"
    assert domain["Properties"]["DomainName"] == {"Ref": "DomainName"}
    assert mapping["Properties"]["DomainName"] == {"Ref": "McpDomain"}
    assert mapping["Properties"]["RestApiId"] == {"Ref": "McpApi"}
    assert "BasePath" not in mapping["Properties"], "the well-known URLs must be routable at the domain root"


def test_governance_advertises_the_issuer_and_scope_the_authorizer_checks(template: dict[str, Any]) -> None:
    functions = _functions(template)
    governance = functions["GovernanceFunction"]["Properties"]["Environment"]["Variables"]
    authorizer = functions["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    for variable in ("OIDC_ISSUER", "OIDC_REQUIRED_SCOPE"):
        assert governance[variable] == authorizer[variable], variable


def test_every_template_secret_denies_reading_to_all_but_the_roles_granted_it(template: dict[str, Any]) -> None:
    """Each secret's resource policy is the second lock: only the functions whose roles are granted the secret
    may read it, whatever IAM grants elsewhere in the account say."""
    resources = template["Resources"]
    policies = {
        res["Properties"]["SecretId"]["Ref"]: res["Properties"]
        for res in resources.values()
        if res["Type"] == "AWS::SecretsManager::ResourcePolicy"
    }
    secrets = [lid for lid, res in resources.items() if res["Type"] == "AWS::SecretsManager::Secret"]
    assert secrets and set(policies) == set(secrets)
    for secret in secrets:
        readers = {
            s.owner
            for s in _statements(template)
            if s.grants("secretsmanager:GetSecretValue") and {"Ref": secret} in s.resources
        }
        properties = policies[secret]
        assert properties["BlockPublicPolicy"] is True
        [deny] = properties["ResourcePolicy"]["Statement"]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "secretsmanager:GetSecretValue")
        allowed = deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"]
        allowed = allowed if isinstance(allowed, list) else [allowed]
        assert {arn["Fn::GetAtt"][0].removesuffix("Role") for arn in allowed} == readers, secret
