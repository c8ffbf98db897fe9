"""The local plane's view of the SAM template: intrinsics, Globals, physical names, tables and secrets."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.local.template import LocalTemplate, TemplateError, load_template_document

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "runner" / "template.yaml"

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  Zones: {Type: CommaDelimitedList, Default: "a, b, c"}
  NoDefault: {Type: String}
Mappings:
  Sizes:
    dev: {Memory: 512}
    prod: {Memory: 2048}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsProd: !Not [!Condition IsDev]
  DevInUsEast: !And [!Condition IsDev, !Equals [!Ref "AWS::Region", us-east-1]]
  AnyOf: !Or [!Condition IsProd, !Equals [x, x]]
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 30
    MemorySize: 256
    Architectures: [arm64]
    Layers: [!Ref CoreLayer]
    Environment:
      Variables:
        FROM_GLOBALS: g
        OVERRIDDEN: g
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: ../layers/core}
  NamedTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-named"
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: gsi1pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema: [{AttributeName: gsi1pk, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      LocalSecondaryIndexes:
        - IndexName: lsi1
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: gsi1pk, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  UnnamedTable:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Simple:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: key, Type: Number}
  ProdOnlyTable:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  NamedSecret:
    Type: AWS::SecretsManager::Secret
    Properties: {Name: vendor/search}
  UnnamedSecret:
    Type: AWS::SecretsManager::Secret
  Queue:
    Type: AWS::SQS::Queue
  GovernanceFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-governance"
      CodeUri: ../functions/governance/
      MemorySize: !FindInMap [Sizes, !Ref Stage, Memory]
      Architectures: [x86_64]
      Layers: ["arn:aws:lambda:us-east-1:017000801446:layer:Powertools:1"]
      Environment:
        Variables:
          OVERRIDDEN: own
          TABLE: !Ref NamedTable
          UNNAMED_TABLE: !Ref UnnamedTable
          TABLE_ARN: !GetAtt NamedTable.Arn
          SECRET: !Ref NamedSecret
          SECRET_ARN: !GetAtt [UnnamedSecret, Arn]
          QUEUE: !Ref Queue
          SUB_LIST: !Sub ["${Prefix}-${AWS::Region}-${!Literal}", {Prefix: !Ref Stage}]
          SUB_ATT: "${Tool.Arn}"
          SUB_GETATT: !Sub "${ToolFunction.Arn}|${AWS::AccountId}|${AWS::Partition}|${AWS::URLSuffix}"
          JOINED: !Join [",", [!Ref Stage, !Select [1, !Ref Zones], literal]]
          SELECTED: !Select ["0", [first, second]]
          MODE: !If [IsDev, development, production]
          BOTH: !If [DevInUsEast, "yes", "no"]
          EITHER: !If [AnyOf, "yes", "no"]
          DROPPED: !If [IsProd, kept, !Ref "AWS::NoValue"]
          NUMBER: 5
          FLAG: true
  ToolFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../functions/tool/
"""


def _load(tmp_path: Path, text: str = TEMPLATE, **kwargs: Any) -> LocalTemplate:
    path = tmp_path / "infra" / "template.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return LocalTemplate.load(path, **kwargs)


def test_short_form_tags_load_as_their_long_form() -> None:
    document = load_template_document("a: !Ref X\nb: !GetAtt T.Arn\nc: !Sub [s, {}]\nd: !Condition C\ne: !Base64 z\n")
    assert document == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["T", "Arn"]},
        "c": {"Fn::Sub": ["s", {}]},
        "d": {"Condition": "C"},
        "e": {"Fn::Base64": "z"},
    }


def test_function_environment_resolves_every_supported_intrinsic(tmp_path: Path) -> None:
    env = _load(tmp_path).functions()["GovernanceFunction"].environment
    assert env == {
        "FROM_GLOBALS": "g",
        "OVERRIDDEN": "own",
        "TABLE": "steward-local-named",
        "UNNAMED_TABLE": "steward-local-UnnamedTable",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/steward-local-named",
        "SECRET": "vendor/search",
        "SECRET_ARN": env["SECRET_ARN"],
        "QUEUE": "steward-local-Queue",
        "SUB_LIST": "dev-us-east-1-${Literal}",
        "SUB_ATT": "${Tool.Arn}",
        "SUB_GETATT": "arn:aws:lambda:us-east-1:000000000000:function:steward-local-ToolFunction"
        "|000000000000|aws|amazonaws.com",
        "JOINED": "dev,b,literal",
        "SELECTED": "first",
        "MODE": "development",
        "BOTH": "yes",
        "EITHER": "yes",
        "NUMBER": "5",
        "FLAG": "true",
    }
    assert env["SECRET_ARN"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:steward-local-Unnamed")


def test_globals_merge_into_functions_with_the_function_winning(tmp_path: Path) -> None:
    functions = _load(tmp_path).functions()
    governance, tool = functions["GovernanceFunction"], functions["ToolFunction"]
    assert (governance.runtime, governance.handler, governance.timeout_s) == ("python3.13", "app.handler", 30)
    assert governance.memory_mb == 512  # FindInMap overrides the global 256
    assert tool.memory_mb == 256
    assert tool.environment == {"FROM_GLOBALS": "g", "OVERRIDDEN": "g"}
    # the global layer is kept, the external ARN layer is not a local directory
    assert governance.layer_dirs == [(tmp_path / "layers" / "core").resolve()]
    assert tool.layer_dirs == governance.layer_dirs
    assert tool.code_dir == (tmp_path / "functions" / "tool").resolve()


def test_physical_names_and_arns_follow_local_rules(tmp_path: Path) -> None:
    template = _load(tmp_path, stack_name="demo", region="eu-west-1")
    governance = template.functions()["GovernanceFunction"]
    assert governance.function_name == "demo-governance"
    assert governance.function_arn == "arn:aws:lambda:eu-west-1:000000000000:function:demo-governance"
    assert template.functions()["ToolFunction"].function_name == "demo-ToolFunction"
    assert template.physical_name("UnnamedSecret") == "demo-UnnamedSecret"


def test_function_is_found_by_name_logical_id_or_arn(tmp_path: Path) -> None:
    template = _load(tmp_path)
    arn = "arn:aws:lambda:us-east-1:000000000000:function:steward-local-governance"
    for key in ("steward-local-governance", "GovernanceFunction", arn, f"{arn}:$LATEST", "steward-local-governance:1"):
        found = template.function_by_name(key)
        assert found is not None
        assert found.logical_id == "GovernanceFunction"
    assert template.function_by_name("steward-local-nope") is None
    assert template.function_by_name("arn:aws:lambda:us-east-1:000000000000:layer:x:1") is None


def test_parameter_overrides_replace_defaults_and_flip_conditions(tmp_path: Path) -> None:
    template = _load(tmp_path, parameter_overrides={"Stage": "prod"})
    env = template.functions()["GovernanceFunction"].environment
    assert (env["MODE"], env["DROPPED"], env["BOTH"]) == ("production", "kept", "no")
    assert template.functions()["GovernanceFunction"].memory_mb == 2048
    assert "ProdOnlyTable" in template.tables()


def test_no_value_removes_the_key_and_conditional_resources_are_skipped(tmp_path: Path) -> None:
    template = _load(tmp_path)
    assert "DROPPED" not in template.functions()["GovernanceFunction"].environment
    assert "ProdOnlyTable" not in template.tables()


def test_tables_are_built_from_the_templates_own_key_schema(tmp_path: Path) -> None:
    tables = _load(tmp_path).tables()
    named = tables["NamedTable"]
    assert named.table_name == "steward-local-named"
    assert named.ttl_attribute == "expires_at"
    assert named.create_table_kwargs == {
        "TableName": "steward-local-named",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "lsi1",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }
    assert tables["UnnamedTable"].ttl_attribute is None
    assert tables["Simple"].create_table_kwargs == {
        "TableName": "steward-local-Simple",
        "AttributeDefinitions": [{"AttributeName": "key", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "key", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_secrets_are_listed_with_their_local_names(tmp_path: Path) -> None:
    secrets = _load(tmp_path).secrets()
    assert {logical_id: spec.name for logical_id, spec in secrets.items()} == {
        "NamedSecret": "vendor/search",
        "UnnamedSecret": "steward-local-UnnamedSecret",
    }
    assert secrets["NamedSecret"].arn.startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:vendor/search-")


def test_resolve_handles_any_fragment(tmp_path: Path) -> None:
    template = _load(tmp_path)
    fragment = {"a": [{"Ref": "AWS::NoValue"}, {"Fn::Sub": "${AWS::StackName}"}], "b": {"Ref": "Zones"}}
    assert template.resolve(fragment) == {"a": ["steward-local"], "b": ["a", "b", "c"]}
    assert template.condition("IsDev") is True


@pytest.mark.parametrize(
    ("variable", "construct"),
    [
        ("!Base64 abc", "Fn::Base64"),
        ("!ImportValue shared-vpc", "Fn::ImportValue"),
        ("!GetAZs ''", "Fn::GetAZs"),
        ("!Split [',', 'a,b']", "Fn::Split"),
        ("!GetAtt NamedTable.StreamArn", "NamedTable.StreamArn"),
        ("!GetAtt Queue.Arn", "Queue.Arn"),
        ("!Ref NoDefault", "NoDefault"),
        ("!Ref Missing", "Missing"),
        ("!Ref AWS::NotificationARNs", "AWS::NotificationARNs"),
        ("!Equals [a, b]", "Fn::Equals"),
        ("!If [NoSuchCondition, a, b]", "NoSuchCondition"),
        ("!FindInMap [Sizes, staging, Memory]", "Sizes.staging.Memory"),
        ("!Select [5, [a]]", "Fn::Select"),
    ],
)
def test_unsupported_constructs_fail_loudly_naming_resource_and_construct(
    tmp_path: Path, variable: str, construct: str
) -> None:
    text = TEMPLATE.replace("          NUMBER: 5\n", f"          NUMBER: {variable}\n")
    with pytest.raises(TemplateError) as excinfo:
        _load(tmp_path, text).functions()
    assert "GovernanceFunction" in str(excinfo.value)
    assert construct in str(excinfo.value)


def test_overriding_an_undeclared_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        _load(tmp_path, parameter_overrides={"Nope": "x"})


def test_a_function_without_a_handler_anywhere_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as excinfo:
        _load(tmp_path, TEMPLATE.replace("    Handler: app.handler\n", "")).functions()
    assert "Handler" in str(excinfo.value)


def test_the_runner_fixture_template_loads() -> None:
    template = LocalTemplate.load(FIXTURE)
    echo = template.functions()["EchoFunction"]
    assert echo.function_name == "steward-local-tool-echo"
    assert echo.code_dir == FIXTURE.parent / "echo"
    assert echo.layer_dirs == [FIXTURE.parent / "layer"]
    assert echo.environment["TABLE_NAME"] == "steward-local-LedgerTable"
    assert template.functions()["SlowFunction"].timeout_s == 1


def test_reserved_concurrency_is_read_when_set_and_absent_under_no_value(tmp_path: Path) -> None:
    reserved = TEMPLATE.replace(
        "      CodeUri: ../functions/tool/\n",
        "      CodeUri: ../functions/tool/\n      ReservedConcurrentExecutions: !If [IsDev, 3, !Ref AWS::NoValue]\n",
    )
    assert _load(tmp_path, reserved).functions()["ToolFunction"].reserved_concurrency == 3
    production = _load(tmp_path, reserved, parameter_overrides={"Stage": "prod", "NoDefault": "x"})
    assert production.functions()["ToolFunction"].reserved_concurrency is None
    assert _load(tmp_path).functions()["ToolFunction"].reserved_concurrency is None
    with pytest.raises(TemplateError, match="ReservedConcurrentExecutions"):
        _load(tmp_path, reserved.replace("!If [IsDev, 3, !Ref AWS::NoValue]", "-1")).functions()


def test_the_runners_limit_is_the_reserved_concurrency_else_its_default_within_the_plane_cap(tmp_path: Path) -> None:
    from mcp_steward.local.runner import FunctionRunner

    spec = _load(tmp_path).functions()["ToolFunction"]
    runner = FunctionRunner(_load(tmp_path), max_workers_per_function=10, max_workers=40)
    try:
        assert runner.limit_of(spec) == 10
        assert runner.limit_of(replace(spec, reserved_concurrency=2)) == 2
        assert runner.limit_of(replace(spec, reserved_concurrency=0)) == 0  # Lambda: every invoke throttled
        assert runner.limit_of(replace(spec, reserved_concurrency=500)) == 40
    finally:
        runner.close()
