"""Template tests for the egress network (docs/design.md section 6): the egress function, and no other, runs in private
subnets behind a NAT gateway whose Elastic IP is an output; its security group lets out HTTPS only; with existing
subnets the stack creates no network. Conditions are evaluated with the parameters a deployer would pass, by the
local plane's own template resolver.

SAM gives a function with a ``VpcConfig`` the managed policy ``AWSLambdaVPCAccessExecutionRole`` (its network
interfaces); the template states no such policy itself, so nothing here can see it.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from mcp_steward.cli.target import EGRESS_ROLE_OUTPUT
from mcp_steward.local.template import LocalTemplate
from tests.infra.test_template import PSEUDO, TEMPLATE_PATH, _functions, _render, _statements

EXISTING = {
    "EgressSubnetIds": "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f",
    "EgressSecurityGroupId": "sg-0123abcd",
}
NETWORK_TYPES = re.compile(r"AWS::EC2::.*")


def _load(**overrides: str) -> LocalTemplate:
    return LocalTemplate.load(TEMPLATE_PATH, parameter_overrides=overrides)


def _created(template: LocalTemplate) -> dict[str, dict[str, Any]]:
    """The resources a stack with these parameters creates (each resource's Condition evaluated)."""
    resources: dict[str, dict[str, Any]] = template.document["Resources"]
    return {
        lid: res
        for lid, res in resources.items()
        if "Condition" not in res or template.condition(str(res["Condition"]))
    }


def _of(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in resources.items() if res["Type"] == kind}


def _ref(template: LocalTemplate, value: Any) -> str:
    """The logical ID a (possibly conditional) ``Ref`` names, the Fn::If branches chosen as the stack would."""
    while isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        value = when_true if template.condition(condition) else when_false
    assert isinstance(value, dict) and set(value) == {"Ref"}, value
    return str(value["Ref"])


def _vpc_config(template: LocalTemplate) -> dict[str, Any]:
    config: dict[str, Any] = template.resolve(
        template.document["Resources"]["EgressFunction"]["Properties"]["VpcConfig"]
    )
    return config


def _default_route(template: LocalTemplate, resources: dict[str, dict[str, Any]], subnet: str) -> dict[str, Any]:
    """The 0.0.0.0/0 route of the route table associated with ``subnet``."""
    (table,) = [
        _ref(template, a["Properties"]["RouteTableId"])
        for a in _of(resources, "AWS::EC2::SubnetRouteTableAssociation").values()
        if _ref(template, a["Properties"]["SubnetId"]) == subnet
    ]
    routes = [
        r
        for r in _of(resources, "AWS::EC2::Route").values()
        if _ref(template, r["Properties"]["RouteTableId"]) == table
    ]
    assert [r["Properties"]["DestinationCidrBlock"] for r in routes] == ["0.0.0.0/0"], subnet
    route: dict[str, Any] = routes[0]["Properties"]
    return route


# --- which functions run in the VPC ------------------------------------------------------------------------


def test_the_egress_function_alone_runs_in_a_vpc() -> None:
    template = _load()
    assert "VpcConfig" not in template.document["Globals"]["Function"]
    in_vpc = {lid for lid, fn in _functions(dict(template.document)).items() if "VpcConfig" in fn["Properties"]}
    assert in_vpc == {"EgressFunction"}


@pytest.mark.parametrize("nat_gateways", ["1", "2"])
def test_by_default_the_egress_runs_in_the_stacks_private_subnets_in_two_azs_behind_nat(nat_gateways: str) -> None:
    # GIVEN no network parameters (but the number of NAT gateways)
    template = _load(EgressNatGateways=nat_gateways)
    resources = _created(template)
    assert template.condition("CreatesEgressNetwork")
    # THEN the egress function is in the two private subnets, with the stack's egress security group
    config = _vpc_config(template)
    private = ["EgressPrivateSubnetA", "EgressPrivateSubnetB"]
    assert config["SubnetIds"] == [template.physical_name(s) for s in private]
    assert config["SecurityGroupIds"] == [template.physical_name("EgressSecurityGroup")]
    subnets = _of(resources, "AWS::EC2::Subnet")
    zones = [subnets[s]["Properties"]["AvailabilityZone"] for s in private]
    assert zones == [{"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Fn::Select": [1, {"Fn::GetAZs": ""}]}]
    # AND each private subnet leaves through a NAT gateway (its own AZ's when there are two), never the IGW
    nats = _of(resources, "AWS::EC2::NatGateway")
    assert len(nats) == int(nat_gateways)
    used = [_ref(template, _default_route(template, resources, s)["NatGatewayId"]) for s in private]
    assert used == (["EgressNatGatewayA", "EgressNatGatewayB"] if nat_gateways == "2" else ["EgressNatGatewayA"] * 2)
    for subnet in private:
        assert "GatewayId" not in _default_route(template, resources, subnet)
        assert subnets[subnet]["Properties"]["MapPublicIpOnLaunch"] is False
    # AND each NAT gateway holds an Elastic IP in a public subnet, whose route goes to the internet gateway
    for nat in nats.values():
        eip = nat["Properties"]["AllocationId"]["Fn::GetAtt"]
        assert _of(resources, "AWS::EC2::EIP")[eip[0]]["Properties"]["Domain"] == "vpc"
        assert eip[1] == "AllocationId"
        public = _ref(template, nat["Properties"]["SubnetId"])
        assert public.startswith("EgressPublicSubnet")
        route = _default_route(template, resources, public)
        assert _ref(template, route["GatewayId"]) in _of(resources, "AWS::EC2::InternetGateway")


def test_the_egress_security_group_lets_out_https_only_and_nothing_in() -> None:
    group = _created(_load())["EgressSecurityGroup"]["Properties"]
    assert _ref(_load(), group["VpcId"]) == "EgressVpc"
    assert "SecurityGroupIngress" not in group
    rules = group["SecurityGroupEgress"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in rules] == [
        ("tcp", 443, 443, "0.0.0.0/0")
    ]
    # No separate rule resources widen it.
    kinds = {res["Type"] for res in _created(_load()).values()}
    assert not kinds & {"AWS::EC2::SecurityGroupEgress", "AWS::EC2::SecurityGroupIngress"}


@pytest.mark.parametrize(("nat_gateways", "ips"), [("1", ["EgressNatIpA"]), ("2", ["EgressNatIpA", "EgressNatIpB"])])
def test_the_elastic_ips_are_an_output(nat_gateways: str, ips: list[str]) -> None:
    template = _load(EgressNatGateways=nat_gateways)
    output = template.document["Outputs"]["EgressIps"]
    assert template.condition(output["Condition"])
    value = output["Value"]
    condition, when_two, when_one = value["Fn::If"]
    chosen = when_two if template.condition(condition) else when_one
    named = [_ref(template, v) for v in chosen["Fn::Join"][1]] if "Fn::Join" in chosen else [_ref(template, chosen)]
    assert named == ips
    assert set(ips) == set(_of(_created(template), "AWS::EC2::EIP"))


def test_the_vpc_has_flow_logs_delivered_by_a_role_only_vpc_flow_logs_can_assume() -> None:
    template = _load()
    resources = _created(template)
    (flow_log,) = _of(resources, "AWS::EC2::FlowLog").values()
    props = flow_log["Properties"]
    assert (props["ResourceType"], _ref(template, props["ResourceId"])) == ("VPC", "EgressVpc")
    assert props["LogDestinationType"] == "cloud-watch-logs"
    group = resources[_ref(template, props["LogGroupName"])]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    role_id = props["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]
    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "vpc-flow-logs.amazonaws.com"}]
    writes = [s for s in _statements(dict(template.document)) if s.owner == role_id and s.grants("logs:PutLogEvents")]
    assert [s.resources for s in writes] == [({"Fn::GetAtt": ["EgressFlowLogGroup", "Arn"]},)]


# --- existing subnets ----------------------------------------------------------------------------------------


def test_with_existing_subnets_the_stack_creates_no_network_and_uses_them() -> None:
    template = _load(**EXISTING)
    assert not template.condition("CreatesEgressNetwork")
    resources = _created(template)
    assert not [lid for lid, res in resources.items() if NETWORK_TYPES.fullmatch(res["Type"])]
    assert not [lid for lid in resources if lid.startswith("EgressFlowLog")]
    outputs = template.document["Outputs"]
    assert "EgressIps" not in {
        k for k, o in outputs.items() if "Condition" not in o or template.condition(o["Condition"])
    }
    config = _vpc_config(template)
    assert config["SubnetIds"] == EXISTING["EgressSubnetIds"].split(",")
    assert config["SecurityGroupIds"] == [EXISTING["EgressSecurityGroupId"]]


def test_every_network_resource_exists_only_when_the_stack_creates_the_network() -> None:
    template = _load()
    for lid, res in template.document["Resources"].items():
        if NETWORK_TYPES.fullmatch(res["Type"]) or lid.startswith("EgressFlowLog"):
            assert res.get("Condition") in {"CreatesEgressNetwork", "HasSecondNatGateway"}, lid


def _rule_holds(expression: Any, parameters: dict[str, Any]) -> bool:
    """The rule functions the template's Rules use, evaluated for given parameter values."""
    ((key, argument),) = expression.items()
    if key == "Ref":
        return parameters[argument]  # type: ignore[no-any-return]
    if key == "Fn::Not":
        return not _rule_holds(argument[0], parameters)
    if key == "Fn::Equals":
        left, right = (_value(a, parameters) for a in argument)
        return bool(left == right)
    if key == "Fn::EachMemberEquals":
        members, expected = _value(argument[0], parameters), _value(argument[1], parameters)
        return all(m == expected for m in members)
    raise AssertionError(f"unexpected rule function {key}")


def _value(expression: Any, parameters: dict[str, Any]) -> Any:
    return parameters[expression["Ref"]] if isinstance(expression, dict) else expression


@pytest.mark.parametrize(
    ("subnets", "group", "accepted"),
    [
        ([""], "", True),
        (["subnet-0a", "subnet-0b"], "sg-0123abcd", True),
        (["subnet-0a"], "", False),
        ([""], "sg-0123abcd", False),
    ],
)
def test_existing_subnets_and_their_security_group_come_together(
    subnets: list[str], group: str, accepted: bool
) -> None:
    rules = _load().document["Rules"]
    parameters = {"EgressSubnetIds": subnets, "EgressSecurityGroupId": group}
    holds = all(
        _rule_holds(assertion["Assert"], parameters)
        for rule in rules.values()
        if _rule_holds(rule["RuleCondition"], parameters)
        for assertion in rule["Assertions"]
    )
    assert holds is accepted


# --- vendor secrets ------------------------------------------------------------------------------------------


def test_the_egress_role_is_an_output_for_vendor_secrets_policies() -> None:
    outputs = _load().document["Outputs"]
    assert outputs[EGRESS_ROLE_OUTPUT]["Value"] == {"Fn::GetAtt": ["EgressFunctionRole", "Arn"]}
    assert "Condition" not in outputs[EGRESS_ROLE_OUTPUT]


def test_the_egress_roles_secret_access_is_reading_the_vendor_prefix_only() -> None:
    egress = [s for s in _statements(dict(_load().document)) if s.owner == "EgressFunction"]
    secret_statements = [s for s in egress if any(a.lower().startswith("secretsmanager:") for a in s.actions)]
    assert [s.actions for s in secret_statements] == [("secretsmanager:GetSecretValue",)]
    stack = PSEUDO["AWS::StackName"]
    (resource,) = secret_statements[0].resources
    pattern = _render(resource)
    assert pattern == f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{stack}/vendor/*"
    outside = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{stack}/delegation-key-AbCdEf"
    assert not fnmatch.fnmatchcase(outside, pattern)
    # It cannot change who may read them.
    assert not any(
        s.grants("secretsmanager:PutResourcePolicy") or s.grants("secretsmanager:DeleteResourcePolicy") for s in egress
    )
