"""The declarative configuration file that ``steward apply`` makes a plane match and ``steward export`` writes.

The file is strict: an unknown key, a malformed name or amount, or two entries for one thing is an error naming
the entry's path (``servers.currency.tools.currency__convert.price``, ``grants[2].tool``). Money is written as
decimal credit strings (``"12.50"``) or whole numbers and held as integer micro-credits; a float is refused,
never rounded. What the file can say is what the plane can store:

- ``teams``: each team's principals (created when absent; a principal has exactly one team; principals are
  never removed, and keys are not in the file: tokens are secrets);
- ``servers``: internal servers by template logical ID (with what one invocation may spend on nested calls,
  ``delegation``) and vendor servers by ``url`` (with the credential's secret id, the header it travels in and
  the other hosts egress may use), upstream-name aliases, and per exposed tool the pinned definition ``hash``
  (optionally the code ``version``) that approval requires, the rules of a suspicious tool's findings the
  reviewer accepts (``acknowledge``), and its price;
- ``grants`` (of tools, prompts or resources that exist, each grant naming exactly one of ``tool``, ``prompt`` or
  ``resource``, to principals, teams and servers that exist: ``allow_unknown`` admits a principal or team only an
  OIDC issuer knows), ``budgets`` (a team's monthly limit or a principal's
  monthly cap) and ``limits`` (calls a minute per principal or per tool).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from mcp_steward.domain.budgets import MAX_PER_MINUTE, Owner, OwnerKind, RateScope

# The egress rules are pure (standard library only, no I/O): the file is checked as 'steward servers add --url'
# checks a vendor, so a bad URL or header is an error of the file, not a refusal found on one plane.
from mcp_steward.domain.egress_policy import AuthHeader, EgressPolicy, EgressRefusedError, check_url, normalize_host
from mcp_steward.domain.grants import Grant, SubjectKind, grant_pattern
from mcp_steward.domain.money import MAX_MICROS, MICROS_PER_CREDIT, AmountError, Micros, format_credits, parse_credits
from mcp_steward.domain.names import SEPARATOR, InvalidNameError, ServerName, exposed_name
from mcp_steward.domain.pricing import MAX_UNITS, Price
from mcp_steward.domain.registry import MAX_NESTED_CALLS, NO_DELEGATION, DelegationMode, DelegationPolicy, Primitive

API_VERSION: Final = "steward/v1"

EntityName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
ServerNameText = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,15}$")]
ExposedNameText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,48}$")]
UpstreamNameText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
LogicalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,255}$")]
DefinitionHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
RuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


def _version_text(value: object) -> object:
    """A published version may be written as a number (``version: 3``); it is kept as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CodeVersion = Annotated[str, BeforeValidator(_version_text), StringConstraints(min_length=1, max_length=256)]
#: A Secrets Manager name or ARN; whether it lies under the plane's ``<stack>/vendor/`` is checked per plane.
SecretId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/_+=.@:-]{1,2048}$")]


def _vendor_url(value: str) -> str:
    """An https URL egress would accept (its host is always allowed): the egress rules' own check."""
    try:
        check_url(value, [urlsplit(value).hostname or ""], EgressPolicy())
    except (EgressRefusedError, ValueError) as exc:
        message = exc.message if isinstance(exc, EgressRefusedError) else "The vendor URL is malformed."
        raise ValueError(message) from None
    return value


def _host(value: str) -> str:
    """A host name or IP literal, normalized as egress compares hosts (lower case, IPv6 without brackets)."""
    return normalize_host(value)


def _auth_header(value: str) -> str:
    try:
        AuthHeader.parse(value)
    except EgressRefusedError as exc:
        raise ValueError(exc.message) from None
    return value


VendorUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_vendor_url)]
HostName = Annotated[str, StringConstraints(max_length=255), AfterValidator(_host)]
AuthHeaderText = Annotated[str, StringConstraints(max_length=1024), AfterValidator(_auth_header)]
GrantPattern = Annotated[str, StringConstraints(pattern=r"^(?:[A-Za-z0-9_-]{1,48}|[a-z][a-z0-9-]{0,15}__\*)$")]
PromptPattern = Annotated[str, StringConstraints(pattern=r"^(?:[A-Za-z0-9_.-]{1,64}|[a-z][a-z0-9-]{0,15}__\*)$")]
#: An exposed resource URI or URI template (no spaces or control characters), or ``SERVER__*``.
ResourcePattern = Annotated[str, StringConstraints(pattern=r"^[!-~\u00a0-\U0010ffff]{1,800}$")]


def _credits(value: object) -> int:
    """Decimal credits as a string (``"12.50"``) or a whole number, into micro-credits; never a float."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('write amounts as quoted decimal credits, such as "12.50" (a float would be rounded)')
    try:
        return parse_credits(str(value))
    except AmountError as exc:
        raise ValueError(str(exc)) from None


Credits = Annotated[int, BeforeValidator(_credits)]


def credits_text(micros: int) -> str:
    """Micro-credits as the shortest exact decimal string: ``12_500_000`` → ``"12.5"``, ``0`` → ``"0"``."""
    text = format_credits(micros)
    return text.rstrip("0").rstrip(".") if micros % MICROS_PER_CREDIT else text.split(".")[0]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamSpec(_Strict):
    principals: tuple[EntityName, ...] = ()


class ToolSpec(_Strict):
    """One exposed tool: approved at ``hash`` (and code ``version``) when its definition matches; its price."""

    hash: DefinitionHash | None = None
    version: CodeVersion | None = None
    acknowledge: tuple[RuleName, ...] = ()
    price: Credits = 0
    unit_price: Credits | None = None
    max_units: Annotated[int, Field(strict=True, ge=1, le=MAX_UNITS)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ToolSpec:
        if self.hash is None and (self.version is not None or self.acknowledge):
            raise ValueError("version and acknowledge qualify an approval: they need hash")
        if (self.unit_price is None) != (self.max_units is None):
            raise ValueError("unit_price and max_units go together (without both, there is no metering)")
        if self.as_price().maximum > MAX_MICROS:
            raise ValueError("the most a call could cost is too large")
        return self

    def as_price(self) -> Price:
        return Price(Micros(self.price), Micros(self.unit_price or 0), self.max_units or 0)


class DelegationSpec(_Strict):
    """What one invocation of an internal server may spend on nested calls: ``calls`` calls and ``credit``
    credits of their reservations, needing the server's grants (``service``) or the person's too (``intersect``)."""

    calls: Annotated[int, Field(strict=True, ge=1, le=MAX_NESTED_CALLS)]
    credit: Credits = 0
    mode: DelegationMode = DelegationMode.SERVICE

    def policy(self) -> DelegationPolicy:
        return DelegationPolicy(calls=self.calls, credit=Micros(self.credit), mode=self.mode)


class ServerSpec(_Strict):
    """An internal server (``function``: the template logical ID of its function) or a vendor server (``url``,
    reached through egress, with the credential's ``secret`` id, the ``auth_header`` it travels in and other
    ``allow_hosts``); aliases (upstream → exposed tool part); its tools; an internal server's ``delegation``."""

    function: LogicalId | None = None
    url: VendorUrl | None = None
    secret: SecretId | None = None
    auth_header: AuthHeaderText | None = None
    allow_hosts: tuple[HostName, ...] = ()
    delegation: DelegationSpec | None = None
    aliases: dict[UpstreamNameText, ExposedNameText] = Field(default_factory=dict)
    tools: dict[ExposedNameText, ToolSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> ServerSpec:
        if (self.function is None) == (self.url is None):
            raise ValueError("a server has exactly one of function (an internal server) or url (a vendor server)")
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Keys that do not go with this kind of server, as ``(key, message)``."""
        found = []
        if self.function is not None:
            vendor_only = {"secret": self.secret, "auth_header": self.auth_header, "allow_hosts": self.allow_hosts}
            found += [(key, "only a vendor server (url) has it") for key, value in vendor_only.items() if value]
        elif self.delegation is not None:
            found.append(("delegation", "a vendor server makes no nested calls: delegation is for internal servers"))
        elif self.auth_header is not None and self.secret is None:
            found.append(("auth_header", "needs secret (the credential it carries)"))
        return found

    def delegation_policy(self) -> DelegationPolicy:
        """The policy the file asks for (absent: no nested calls)."""
        return self.delegation.policy() if self.delegation is not None else NO_DELEGATION


class GrantSpec(_Strict):
    """Exactly one of ``tool`` (an exposed tool name or ``SERVER__*``), ``prompt`` (an exposed prompt name or
    ``SERVER__*``) or ``resource`` (an exposed resource URI or URI template, or ``SERVER__*``: resources and
    templates), granted to exactly one of a principal, a team or a server. Each must exist on the plane (or in the
    file) unless ``allow_unknown`` admits a principal or team that only an OIDC issuer knows; an entry or server
    never."""

    principal: EntityName | None = None
    team: EntityName | None = None
    server: ServerNameText | None = None
    tool: GrantPattern | None = None
    prompt: PromptPattern | None = None
    resource: ResourcePattern | None = None
    allow_unknown: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _one_subject(self) -> GrantSpec:
        if sum(subject is not None for subject in (self.principal, self.team, self.server)) != 1:
            raise ValueError("a grant names exactly one of principal, team or server")
        if sum(target is not None for target in (self.tool, self.prompt, self.resource)) != 1:
            raise ValueError("a grant names exactly one of tool, prompt or resource")
        if self.allow_unknown and self.server is not None:
            raise ValueError("allow_unknown admits a principal or team only an OIDC issuer knows, never a server")
        return self

    @property
    def target(self) -> tuple[Primitive, str]:
        """The primitive granted and its pattern as the file writes it."""
        for primitive, pattern in (
            (Primitive.TOOL, self.tool),
            (Primitive.PROMPT, self.prompt),
            (Primitive.RESOURCE, self.resource),
        ):
            if pattern is not None:
                return primitive, pattern
        raise AssertionError("_one_subject: a grant names one target")

    @property
    def key(self) -> str:
        """The key its target is written under (``tool``, ``prompt`` or ``resource``), for paths."""
        return self.target[0].value

    def grant(self) -> Grant:
        pattern = grant_pattern(*self.target)
        if self.principal is not None:
            return Grant(SubjectKind.PRINCIPAL, self.principal, pattern)
        if self.team is not None:
            return Grant(SubjectKind.TEAM, self.team, pattern)
        assert self.server is not None  # _one_subject
        return Grant(SubjectKind.SERVER, self.server, pattern)


class BudgetSpec(_Strict):
    """A team's monthly limit, or (with ``principal``) a principal's monthly cap within its team."""

    team: EntityName
    principal: EntityName | None = None
    limit: Credits

    @property
    def owner(self) -> Owner:
        if self.principal is not None:
            return Owner(OwnerKind.PRINCIPAL, self.principal)
        return Owner(OwnerKind.TEAM, self.team)


class LimitSpec(_Strict):
    """Calls a minute for exactly one of a principal or a tool."""

    principal: EntityName | None = None
    tool: ExposedNameText | None = None
    per_minute: Annotated[int, Field(strict=True, ge=1, le=MAX_PER_MINUTE)]

    @model_validator(mode="after")
    def _one_subject(self) -> LimitSpec:
        if (self.principal is None) == (self.tool is None):
            raise ValueError("a limit names exactly one of principal or tool")
        return self

    @property
    def key(self) -> tuple[RateScope, str]:
        if self.principal is not None:
            return RateScope.PRINCIPAL, self.principal
        assert self.tool is not None  # _one_subject
        return RateScope.TOOL, self.tool


class StewardFile(_Strict):
    """The whole file. ``apiVersion: steward/v1`` (or ``version: 1``) says which format it is."""

    api_version: Literal["steward/v1"] | None = Field(default=None, alias="apiVersion")
    version: Literal[1] | None = None
    teams: dict[EntityName, TeamSpec] = Field(default_factory=dict)
    servers: dict[ServerNameText, ServerSpec] = Field(default_factory=dict)
    grants: tuple[GrantSpec, ...] = ()
    budgets: tuple[BudgetSpec, ...] = ()
    limits: tuple[LimitSpec, ...] = ()

    def team_of(self) -> dict[str, str]:
        """Principal → team, as the file lists them (the first team that lists a principal)."""
        found: dict[str, str] = {}
        for team, spec in self.teams.items():
            for principal in spec.principals:
                found.setdefault(principal, team)
        return found


class ConfigFileError(ValueError):
    """The file is not a valid configuration: ``problems`` lists ``(path, message)`` for each entry at fault."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in problems))


_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


def _path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as a path: ``servers.currency.tools.x.price``, ``grants[2].tool``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (the key)"
        else:
            text = part if _IDENTIFIER.fullmatch(part) else repr(part)
            path += f".{text}" if path else text
    return path


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def load_config(data: object) -> StewardFile:
    """Validate a parsed document (a mapping, as YAML or JSON gives it) into a :class:`StewardFile`.

    Raises:
        ConfigFileError: the document breaks the format; every problem is listed with its path.
    """
    if not isinstance(data, dict):
        raise ConfigFileError([("", "the file must be a mapping with apiVersion: steward/v1 at its top")])
    try:
        config = StewardFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError([(_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]) from None
    problems = _cross_checks(config)
    if problems:
        raise ConfigFileError(problems)
    return config


def _cross_checks(config: StewardFile) -> list[tuple[str, str]]:
    """What no single entry shows: the version line, uniqueness, and names that must agree with each other."""
    problems: list[tuple[str, str]] = []
    if (config.api_version is None) == (config.version is None):
        problems.append(("apiVersion", f"give exactly one of apiVersion: {API_VERSION} or version: 1"))
    seen: dict[str, str] = {}
    for team, spec in config.teams.items():
        for index, principal in enumerate(spec.principals):
            if principal in seen:
                problems.append(
                    (f"teams.{team}.principals[{index}]", f"{principal} is already listed in team {seen[principal]}")
                )
            seen.setdefault(principal, team)
    for name, server in config.servers.items():
        problems += [(f"servers.{name}.{key}", message) for key, message in server.problems()]
        for upstream, alias in server.aliases.items():
            try:
                exposed_name(ServerName(name), upstream, alias)
            except InvalidNameError as exc:
                problems.append((f"servers.{name}.aliases.{upstream}", str(exc)))
        for tool in server.tools:
            if not tool.startswith(f"{name}{SEPARATOR}") or tool == f"{name}{SEPARATOR}":
                problems.append((f"servers.{name}.tools.{tool}", f"a tool of {name} is named {name}__<tool>"))
    problems += _duplicates("grants", [spec.grant() for spec in config.grants])
    problems += _duplicates("budgets", [spec.owner for spec in config.budgets])
    problems += _duplicates("limits", [spec.key for spec in config.limits])
    team_of = config.team_of()
    for index, budget in enumerate(config.budgets):
        listed = team_of.get(budget.principal) if budget.principal is not None else None
        if listed is not None and listed != budget.team:
            problems.append((f"budgets[{index}].principal", f"{budget.principal} is listed in team {listed}"))
    return problems


def _duplicates(section: str, keys: list[object]) -> list[tuple[str, str]]:
    first: dict[object, int] = {}
    problems = []
    for index, key in enumerate(keys):
        if key in first:
            problems.append((f"{section}[{index}]", f"the same entry as {section}[{first[key]}]"))
        first.setdefault(key, index)
    return problems


def to_document(config: StewardFile) -> dict[str, Any]:
    """The file as plain data (for YAML or JSON), in a stable order; amounts as decimal credit strings."""
    document: dict[str, Any] = {"apiVersion": API_VERSION}
    document["teams"] = {team: {"principals": list(spec.principals)} for team, spec in config.teams.items()}
    servers: dict[str, Any] = {}
    for name, server in config.servers.items():
        entry: dict[str, Any] = {}
        if server.function is not None:
            entry["function"] = server.function
        else:
            entry["url"] = server.url
            if server.secret is not None:
                entry["secret"] = server.secret
            if server.auth_header is not None:
                entry["auth_header"] = server.auth_header
            if server.allow_hosts:
                entry["allow_hosts"] = list(server.allow_hosts)
        if server.delegation is not None:
            entry["delegation"] = {
                "calls": server.delegation.calls,
                "credit": credits_text(server.delegation.credit),
                "mode": server.delegation.mode.value,
            }
        if server.aliases:
            entry["aliases"] = dict(server.aliases)
        tools: dict[str, Any] = {}
        for tool_name, tool in server.tools.items():
            shown: dict[str, Any] = {}
            if tool.hash is not None:
                shown["hash"] = tool.hash
            if tool.version is not None:
                shown["version"] = tool.version
            if tool.acknowledge:
                shown["acknowledge"] = list(tool.acknowledge)
            shown["price"] = credits_text(tool.price)
            if tool.unit_price is not None and tool.max_units is not None:
                shown["unit_price"] = credits_text(tool.unit_price)
                shown["max_units"] = tool.max_units
            tools[tool_name] = shown
        entry["tools"] = tools
        servers[name] = entry
    document["servers"] = servers
    document["grants"] = [spec.model_dump(exclude_none=True, exclude_defaults=True) for spec in config.grants]
    document["budgets"] = [
        {**spec.model_dump(exclude_none=True, exclude={"limit"}), "limit": credits_text(spec.limit)}
        for spec in config.budgets
    ]
    document["limits"] = [spec.model_dump(exclude_none=True) for spec in config.limits]
    return document
