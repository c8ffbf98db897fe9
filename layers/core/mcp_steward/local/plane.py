"""``steward dev``: the whole plane on one machine, no AWS account and no Docker (docs/design.md section 7).

Three OS processes: a serialized moto server (DynamoDB, Secrets Manager), the local function runner
(Lambda's Invoke API over the template's functions) and the governance app under uvicorn, which is the
process listening on ``mcp_url``. boto3 reaches moto and the runner through service-specific endpoint
variables, never the global ``AWS_ENDPOINT_URL`` (moto's own Lambda would echo any payload back).
The store survives restarts (:mod:`mcp_steward.local.store`): moto snapshots its tables and secrets to
``.steward/store/snapshot.json`` (next to the state file) every few seconds when something changed and on a
clean stop, and a start restores them; the demo seed runs only on an empty store (the first start, or
``--fresh``, which deletes the stored state first). A plane killed with SIGKILL loses what the last snapshot
did not hold.

``--conformance-fixtures`` (the MCP conformance suite's run, ``tests/e2e/test_conformance.py``) loads the template
with ``ConformanceFixtures=true`` in the plane and the runner, and makes sure the fixture server ``conformance``
is registered unprefixed and approved, with the principal ``conformance`` (team ``qa``) granted its tools,
prompts and resources; on a restored store it adds what is missing. Without the flag nothing of it exists.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.adapters.dynamodb_budgets import DynamoDbBudgetLedger
from mcp_steward.adapters.dynamodb_grants import DynamoDbGrantStore
from mcp_steward.adapters.dynamodb_keys import DynamoDbKeyStore
from mcp_steward.adapters.dynamodb_registry import DynamoDbRegistry
from mcp_steward.adapters.lambda_invoker import LambdaInvoker
from mcp_steward.adapters.lambda_versions import published_versions
from mcp_steward.contracts import state_file as state_contract
from mcp_steward.contracts import template_ids
from mcp_steward.domain.egress_policy import EgressPolicy
from mcp_steward.domain.grants import Grant, SubjectKind, grant_pattern
from mcp_steward.domain.money import parse_credits
from mcp_steward.domain.names import check_server_name
from mcp_steward.domain.pricing import Price
from mcp_steward.domain.registry import Primitive, ServerKind, ServerRecord, ToolStatus
from mcp_steward.egress.settings import CA_FILE_VARIABLE, LOCAL_ORIGINS_VARIABLE
from mcp_steward.local import demo_data, store
from mcp_steward.local.store import StoreError, StoreLayout
from mcp_steward.local.template import LocalTemplate, TemplateError
from mcp_steward.services.admin import AdminPorts
from mcp_steward.services.admin.budgets import set_budget
from mcp_steward.services.admin.grants import add_grant
from mcp_steward.services.admin.keys_and_teams import NewKey, create_key
from mcp_steward.services.admin.pricing import set_price
from mcp_steward.services.registration import RegistrationError, register_internal_server, register_server

REGION = "us-east-1"
STACK_NAME = "steward-local"
STARTUP_TIMEOUT_S = 60.0
GOVERNANCE_ID = template_ids.GOVERNANCE_FUNCTION
EGRESS_ID = template_ids.EGRESS_FUNCTION
#: Demo principals: name → (team, roles). alice can call the free currency tools.
DEMO_PRINCIPALS = {"alice": ("finance", ()), "bob": ("support", ()), "admin": ("platform", ("admin",))}
#: Demo servers: name → template logical ID.
DEMO_SERVERS = template_ids.DEMO_SERVERS
DEMO_GRANTS = [
    Grant(SubjectKind.PRINCIPAL, "alice", "currency__*"),
    # alice also reads the currency server's resources and gets its prompt (grants name the primitive)
    Grant(SubjectKind.PRINCIPAL, "alice", grant_pattern(Primitive.PROMPT, "currency__*")),
    Grant(SubjectKind.PRINCIPAL, "alice", grant_pattern(Primitive.RESOURCE, "currency__*")),
    Grant(SubjectKind.TEAM, "support", "currency__convert"),
    Grant(SubjectKind.PRINCIPAL, "bob", "hr__*"),
    Grant(SubjectKind.PRINCIPAL, "admin", "currency__*"),
    Grant(SubjectKind.PRINCIPAL, "admin", "hr__*"),
]
METERING_ROLES = ("budgets", "grants", "registry", "ledger", "audit")
#: ``--conformance-fixtures``: the template parameter that deploys the fixture server, the server's name and
#: logical ID, and its principal and team.
CONFORMANCE_PARAMETER = "ConformanceFixtures"
CONFORMANCE_SERVER = "conformance"
CONFORMANCE_FUNCTION_ID = "ConformanceFunction"
CONFORMANCE_PRINCIPAL = ("conformance", "qa")
#: Everything of the fixture server, whatever its exposed names (``<server>__*`` matches by server).
CONFORMANCE_GRANTS = tuple(
    Grant(SubjectKind.PRINCIPAL, CONFORMANCE_PRINCIPAL[0], grant_pattern(primitive, f"{CONFORMANCE_SERVER}__*"))
    for primitive in (Primitive.TOOL, Primitive.PROMPT, Primitive.RESOURCE)
)
#: The directory lookups are priced (the currency tools stay free); each team has a monthly budget.
DEMO_PRICES = {"hr__find_employee": "0.01", "hr__get_employee": "0.005"}
DEMO_BUDGETS = {"finance": "100", "support": "25", "platform": "10"}
#: ``STEWARD_SNAPSHOT_INTERVAL_S`` overrides it (tests set it high to control when snapshots happen).
SNAPSHOT_INTERVAL_S = 2.0
#: moto writes its last snapshot on SIGTERM (10,000 items: about a second; a generous bound).
MOTO_STOP_TIMEOUT_S = 120.0
_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": ""}


def _unaudited(action: str, detail: dict[str, Any], **subjects: str | None) -> None:
    """The demo seed's audit writer: its writes are the plane's initial state, not an admin's change."""


class PlaneError(Exception):
    """The local plane could not start; the message says which piece and why."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (as uvicorn will, with SO_REUSEADDR), None when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} is in use (another steward dev or another server listens on {host}:{port}; "
                    "stop it or pass --port)"
                )
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def snapshot_interval(text: str | None) -> float:
    """Seconds between snapshots: ``STEWARD_SNAPSHOT_INTERVAL_S`` when it is a number, clamped to 0.1 s - 1 day."""
    try:
        value = float(text) if text else SNAPSHOT_INTERVAL_S
    except ValueError:
        value = SNAPSHOT_INTERVAL_S
    return min(max(value, 0.1), 86_400.0) if value == value else SNAPSHOT_INTERVAL_S


def lock_store(layout: StoreLayout) -> int:
    """Take the store's lock (an open file descriptor holding ``flock``), so two planes never share a store.

    The moto server inherits the descriptor: a store stays locked while its moto server runs, even when the
    plane that started it was killed.

    Raises:
        StoreError: another process holds the lock.
    """
    layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StoreError(
            f"the stored state in {layout.root} is in use by another steward dev (or the moto server of one that"
            " was killed); stop it first, or pass another --state-file"
        ) from None
    return fd


def delete_stored_state(layout: StoreLayout) -> None:
    """``--fresh``: remove the snapshot, the demo tokens and the published versions (the lock is held)."""
    for path in (layout.snapshot, layout.principals):
        path.unlink(missing_ok=True)
    shutil.rmtree(layout.versions, ignore_errors=True)


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    Path(temp).replace(path)


def child_environment(**extra: str) -> dict[str, str]:
    """The parent's environment minus anything that could point boto3 elsewhere, plus local credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STEWARD_", "IDENTITY_MODE"))}
    env.update(_LOCAL_CREDENTIALS, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, PYTHONUNBUFFERED="1")
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def _function_entries(template: LocalTemplate) -> dict[str, state_contract.FunctionEntry]:
    return {
        logical_id: state_contract.FunctionEntry(spec.function_name, spec.timeout_s, str(spec.code_dir))
        for logical_id, spec in template.functions().items()
    }


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the template file does (the runner watches it the same way)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


@dataclass
class LocalPlane:
    template_path: Path
    host: str = "127.0.0.1"
    port: int = 8787
    state_file: Path = state_contract.DEFAULT_PATH
    #: Exact ``https://host:port`` origins of loopback vendors the egress function may reach (else refused).
    vendor_origins: tuple[str, ...] = ()
    #: A CA file the egress function trusts besides the system's (the local vendors' TLS; never unverified).
    vendor_ca_file: Path | None = None
    #: The store's snapshot to restore (None: an empty store, seeded with the demo).
    snapshot: dict[str, Any] | None = None
    #: The descriptor holding the store's lock (the moto server inherits it).
    store_lock_fd: int | None = None
    snapshot_interval_s: float = SNAPSHOT_INTERVAL_S
    #: ``--conformance-fixtures``: deploy, register and grant the conformance suite's fixture server.
    conformance_fixtures: bool = False
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _workdir: Path | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _state: dict[str, Any] | None = None
    _template_stamp: tuple[int, int, int] | None = None

    @property
    def mcp_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/mcp"

    @property
    def store(self) -> StoreLayout:
        return StoreLayout.beside(self.state_file)

    @property
    def parameter_overrides(self) -> dict[str, str]:
        """The template parameters every process reading the template (the plane, the runner) overrides."""
        return {CONFORMANCE_PARAMETER: "true"} if self.conformance_fixtures else {}

    def load_template(self) -> LocalTemplate:
        return LocalTemplate.load(
            self.template_path, stack_name=STACK_NAME, region=REGION, parameter_overrides=self.parameter_overrides
        )

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", *args], env=env, pass_fds=pass_fds)
        self._children[name] = process
        return process

    def _await_ready_file(self, name: str, path: Path) -> dict[str, Any]:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        process = self._children[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PlaneError(f"{name} exited with status {process.returncode} while starting")
            if path.exists():
                return dict(json.loads(path.read_text()))
            time.sleep(0.05)
        raise PlaneError(f"{name} did not become ready within {STARTUP_TIMEOUT_S:.0f} s")

    def _await_port(self, name: str, host: str, port: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._children[name].poll() is not None:
                raise PlaneError(f"{name} exited with status {self._children[name].returncode} while starting")
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise PlaneError(f"{name} did not listen on {host}:{port} within {STARTUP_TIMEOUT_S:.0f} s")

    def start(self) -> dict[str, Any]:
        """Start every piece, seed the demo, write the state file; returns the state."""
        template = self.load_template()
        self._workdir = Path(tempfile.mkdtemp(prefix="steward-dev-"))
        base_env = child_environment()

        moto_ready = self._workdir / "moto.json"
        moto_args = ["mcp_steward.local.moto_server", "--host", "127.0.0.1", "--port", "0"]
        moto_args += ["--ready-file", str(moto_ready), "--snapshot", str(self.store.snapshot.resolve())]
        moto_args += ["--snapshot-interval", str(self.snapshot_interval_s), "--parent-pid", str(os.getpid())]
        lock = () if self.store_lock_fd is None else (self.store_lock_fd,)
        self._spawn("moto", moto_args, base_env, pass_fds=lock)
        moto_url = str(self._await_ready_file("moto", moto_ready)["url"])

        session = boto3.session.Session(
            region_name=REGION,
            aws_access_key_id=_LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        secretsmanager = session.client("secretsmanager", endpoint_url=moto_url)
        tables = template.tables()
        for table in tables.values():
            dynamodb.create_table(**table.create_table_kwargs)
        restored: set[str] = set()
        if self.snapshot is not None:
            table_names = {str(t.create_table_kwargs["TableName"]) for t in tables.values()}
            try:
                warnings = store.restore(dynamodb, secretsmanager, self.snapshot, table_names)
            except (BotoCoreError, ClientError) as exc:
                raise StoreError(
                    f"cannot restore {self.store.snapshot} ({exc}); it is left untouched. Fix or move it, or start "
                    "empty with steward dev --fresh (which deletes it)"
                ) from None
            for warning in warnings:
                print(f"steward dev: warning: {warning}", file=sys.stderr)
            restored = set(self.snapshot["secrets"])
        for secret in template.secrets().values():
            if secret.name not in restored:
                value = json.dumps({"value": secrets.token_hex(16)})
                secretsmanager.create_secret(Name=secret.name, SecretString=value)

        runner_port = free_port()
        lambda_url = f"http://127.0.0.1:{runner_port}"
        endpoints = {
            "AWS_ENDPOINT_URL_DYNAMODB": moto_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
            "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
        }
        runner_ready = self._workdir / "runner.json"
        runner_env = {**base_env, store.VERSIONS_DIR_VARIABLE: str(self.store.versions.resolve())}
        runner_args = ["mcp_steward.local.runner", "--template", str(self.template_path), "--port", str(runner_port)]
        runner_args += ["--ready-file", str(runner_ready), "--stack-name", STACK_NAME, "--region", REGION]
        for key, value in self.parameter_overrides.items():
            runner_args += ["--parameter", f"{key}={value}"]
        for key, value in {
            **endpoints,
            **_LOCAL_CREDENTIALS,
            "AWS_REGION": REGION,
            **self._egress_env(template),
        }.items():
            if value:
                runner_args += ["--env", f"{key}={value}"]
        self._spawn("runner", runner_args, runner_env)
        self._await_ready_file("runner", runner_ready)

        functions = template.functions()
        governance = functions[GOVERNANCE_ID]
        if self.snapshot is None:
            principals = self._seed(template, session, moto_url, lambda_url)
            # The tokens first: a snapshot on disk always has its principals' tokens beside it.
            store.write_json_atomically(self.store.principals, {"principals": principals})
        else:
            principals = store.load_principals(self.store.principals)
        if self.conformance_fixtures:
            added = self._seed_conformance(template, session, moto_url, lambda_url, principals)
            if added:
                principals = {**principals, **added}
                store.write_json_atomically(self.store.principals, {"principals": principals})
        self._enable_snapshots(moto_url)

        # The function's own environment as the template resolves it, with the local plane's identity mode.
        overrides = {"IDENTITY_MODE": "bearer", "STEWARD_LOCAL_PLANE": "1"}
        env = child_environment(**{**governance.environment, **endpoints, **overrides})
        self._spawn(
            "governance",
            ["mcp_steward.local.governance_server", "--host", self.host, "--port", str(self.port)],
            env,
        )
        self._await_port("governance", self.host, self.port)

        state = state_contract.LocalState(
            mcp_url=self.mcp_url,
            aws_endpoint_url=moto_url,
            lambda_endpoint_url=lambda_url,
            region=REGION,
            stack_name=STACK_NAME,
            principals=principals,
            tables={role: template.physical_name(logical_id) for role, logical_id in template_ids.TABLES.items()},
            functions=_function_entries(template),
            pid=os.getpid(),
            # each piece's OS process (benchmarks measure the governance process's CPU per call)
            pids={name: process.pid for name, process in self._children.items()},
        ).encode()
        write_atomically(self.state_file, state)
        self._state, self._template_stamp = state, _stamp(self.template_path)
        return state

    def refresh_functions(self) -> None:
        """The runner re-reads the template when it changes (``local/runner.py``); keep the state file's function
        list, with which admin commands resolve ``--function LogicalId``, in step. A template that does not load
        changes nothing (the runner logs why)."""
        stamp = _stamp(self.template_path)
        if self._state is None or stamp == self._template_stamp:
            return
        self._template_stamp = stamp
        try:
            template = self.load_template()
            functions = {logical_id: entry.encode() for logical_id, entry in _function_entries(template).items()}
        except (OSError, TemplateError):
            return
        if functions != self._state.get("functions"):
            self._state["functions"] = functions
            write_atomically(self.state_file, self._state)

    def _enable_snapshots(self, moto_url: str) -> None:
        """Have moto write the first snapshot now (the restored or seeded store) and keep it from then on."""
        request = urllib.request.Request(f"{moto_url}/_steward/snapshot", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=STARTUP_TIMEOUT_S) as response:
                response.read()
        except OSError as exc:
            raise PlaneError(f"moto could not write the snapshot {self.store.snapshot}: {exc}") from None

    def _egress_env(self, template: LocalTemplate) -> dict[str, str]:
        """The egress function's local-plane settings: the listed loopback vendors, the extra CA, and the
        plane's own endpoint among the URLs egress refuses (a vendor URL pointing back at Steward)."""
        egress = template.functions().get(EGRESS_ID)
        if egress is None:
            return {}
        host = f"[{self.host}]" if ":" in self.host else self.host
        own = [u for u in egress.environment.get("EGRESS_SELF_URLS", "").split(",") if u]
        env = {"EGRESS_SELF_URLS": ",".join([*own, f"https://{host}:{self.port}"])}
        if self.vendor_origins:
            env[LOCAL_ORIGINS_VARIABLE] = ",".join(self.vendor_origins)
        if self.vendor_ca_file is not None:
            env[CA_FILE_VARIABLE] = str(self.vendor_ca_file.resolve())
        return env

    @staticmethod
    def _admin(template: LocalTemplate, dynamodb: Any) -> AdminPorts:
        """The admin operations over the local tables. The seed's keys, grants, prices and budgets go through
        them (checked as a command's are); they are the plane's initial state, not an admin's change: nothing is
        audited."""
        governance_env = template.functions()[GOVERNANCE_ID].environment
        tables = {role: governance_env[f"{role.upper()}_TABLE"] for role in METERING_ROLES}
        return AdminPorts(
            keys=DynamoDbKeyStore(dynamodb, governance_env["KEYS_TABLE"]),
            registry=DynamoDbRegistry(dynamodb, governance_env["REGISTRY_TABLE"]),
            grants=DynamoDbGrantStore(dynamodb, governance_env["GRANTS_TABLE"]),
            budgets=DynamoDbBudgetLedger.for_tables(dynamodb, tables),
            audit=_unaudited,
        )

    def _lambda(self, session: Any, lambda_url: str) -> tuple[LambdaInvoker, Any]:
        """An invoker of the runner's functions and the resolver of their published versions."""

        def lambda_client(config: Config) -> Any:
            return session.client("lambda", endpoint_url=lambda_url, config=config)

        invoker = LambdaInvoker(lambda_client)
        self._closers.append(invoker.close)
        return invoker, published_versions(lambda_client(Config(read_timeout=60)))

    def _seed(self, template: LocalTemplate, session: Any, moto_url: str, lambda_url: str) -> dict[str, Any]:
        functions = template.functions()
        dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        secretsmanager = session.client("secretsmanager", endpoint_url=moto_url)
        currency_env = functions[DEMO_SERVERS["currency"]].environment
        hr_env = functions[DEMO_SERVERS["hr"]].environment
        demo_data.seed_currency(dynamodb, currency_env["RATES_TABLE"])
        demo_data.seed_hr_directory(dynamodb, secretsmanager, hr_env["DIRECTORY_TABLE"], hr_env["DIRECTORY_SECRET_ARN"])

        admin = self._admin(template, dynamodb)
        registry = admin.registry
        principals: dict[str, Any] = {}
        for name, (team, roles) in DEMO_PRINCIPALS.items():
            token = create_key(admin, NewKey(name, team, roles)).token
            principals[name] = {"team": team, "token": token, "roles": list(roles)}

        invoker, versions = self._lambda(session, lambda_url)
        for server, logical_id in DEMO_SERVERS.items():
            spec = functions[logical_id]
            register_internal_server(
                registry,
                invoker,
                name=server,
                function_name=spec.function_name,
                function_timeout_s=spec.timeout_s,
                logical_id=logical_id,
                # The demo's own servers are approved (and pinned) at seed; registered servers start pending.
                status=ToolStatus.APPROVED,
                versions=versions,
            )
        for grant in DEMO_GRANTS:
            add_grant(admin, grant)
        for tool, price in DEMO_PRICES.items():
            set_price(admin, tool, Price(price=parse_credits(price)))
        for team, limit in DEMO_BUDGETS.items():
            set_budget(admin, team, parse_credits(limit))
        return principals

    def _seed_conformance(
        self, template: LocalTemplate, session: Any, moto_url: str, lambda_url: str, principals: dict[str, Any]
    ) -> dict[str, Any]:
        """Make sure the fixture server is registered (unprefixed, approved), its principal has a key and its grants
        exist; returns the principals added (their tokens go to the store's principals file, as the demo's do).

        Only what is missing is created: on a restored store that already has them, nothing changes. The server is
        the template's ``ConformanceFunction`` (deployed by ``ConformanceFixtures=true``).
        """
        spec = template.functions().get(CONFORMANCE_FUNCTION_ID)
        if spec is None:
            raise PlaneError(
                f"--conformance-fixtures: the template has no {CONFORMANCE_FUNCTION_ID} under "
                f"{CONFORMANCE_PARAMETER}=true"
            )
        admin = self._admin(template, session.client("dynamodb", endpoint_url=moto_url))
        added: dict[str, Any] = {}
        name, team = CONFORMANCE_PRINCIPAL
        if name not in principals:
            added[name] = {"team": team, "token": create_key(admin, NewKey(name, team, ())).token, "roles": []}
        if CONFORMANCE_SERVER not in admin.registry.catalog().servers:
            invoker, versions = self._lambda(session, lambda_url)
            server = ServerRecord(
                name=check_server_name(CONFORMANCE_SERVER),
                kind=ServerKind.INTERNAL,
                function_name=spec.function_name,
                function_timeout_s=spec.timeout_s,
                logical_id=CONFORMANCE_FUNCTION_ID,
                # The suite calls the fixture's names as they are (test_simple_text, test://static-text).
                namespaced=False,
            )
            register_server(admin.registry, invoker, server, versions=versions, status=ToolStatus.APPROVED)
        existing = set(admin.grants.all())
        for grant in CONFORMANCE_GRANTS:
            if grant not in existing:
                add_grant(admin, grant)
        return added

    def failed_child(self) -> str | None:
        for name, process in self._children.items():
            if process.poll() is not None:
                return f"{name} exited with status {process.returncode}"
        return None

    def stop(self) -> None:
        # Everything that writes to the store first, then moto, which writes its last snapshot on SIGTERM.
        writers = [p for name, p in self._children.items() if name != "moto"]
        moto = [p for name, p in self._children.items() if name == "moto"]
        for processes, timeout_s in ((writers, 5.0), (moto, MOTO_STOP_TIMEOUT_S)):
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + timeout_s
            for process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._children.clear()
        for close in self._closers:
            close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        try:
            state = json.loads(self.state_file.read_text())
            if state.get("pid") == os.getpid():
                self.state_file.unlink()
        except (OSError, ValueError):
            pass


def banner(state: dict[str, Any], *, restored: bool = False, store_dir: Path | None = None) -> str:
    url = state["mcp_url"]
    alice = state["principals"]["alice"]["token"]
    kept = "restored from" if restored else "new (demo seeded), kept in"
    lines = [
        "",
        "MCP Steward local plane is running.",
        *([f"  store          {kept} {store_dir} (steward dev --fresh starts empty)"] if store_dir else []),
        f"  MCP endpoint   {url}",
        f"  moto           {state['aws_endpoint_url']}",
        f"  functions      {state['lambda_endpoint_url']}",
        "",
        "Principals (bearer tokens):",
    ]
    width = max((len(name) for name in state["principals"]), default=0)
    for name, info in state["principals"].items():
        lines.append(f"  {name:<{width}} team {info['team']:<9} {info['token']}")
    cursor = {"mcpServers": {"steward": {"url": url, "headers": {"Authorization": f"Bearer {alice}"}}}}
    lines += [
        "",
        "Claude Code:",
        f'  claude mcp add --transport http steward {url} --header "Authorization: Bearer {alice}"',
        "Cursor (~/.cursor/mcp.json):",
        "  " + json.dumps(cursor),
        "MCP Inspector:",
        f"  npx @modelcontextprotocol/inspector@2.12.0 --cli {url} --protocol-era modern --method tools/list "
        f'--header "Authorization: Bearer {alice}"',
        "",
        "Try: alice may call currency__convert (free); bob may call hr__* (priced: team support has 25 credits"
        " a month). Then: .venv/bin/steward usage, .venv/bin/steward budgets show. Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def run_dev(
    *,
    host: str,
    port: int,
    state_file: Path,
    template: Path,
    vendor_origins: tuple[str, ...] = (),
    vendor_ca_file: Path | None = None,
    fresh: bool = False,
    conformance_fixtures: bool = False,
) -> int:
    busy = port_in_use(host, port)
    if busy is not None:
        print(f"steward dev: error: {busy}", file=sys.stderr)
        return 1
    if not template.exists():
        print(f"steward dev: error: no template at {template} (run from the repository root)", file=sys.stderr)
        return 2
    try:
        EgressPolicy.of(local_origins=vendor_origins)
    except ValueError as exc:
        print(f"steward dev: error: --vendor-origin: {exc}", file=sys.stderr)
        return 2
    if vendor_ca_file is not None and not vendor_ca_file.is_file():
        print(f"steward dev: error: --vendor-ca-file {vendor_ca_file} does not exist", file=sys.stderr)
        return 2
    layout = StoreLayout.beside(state_file)
    try:
        lock_fd = lock_store(layout)
    except StoreError as exc:
        print(f"steward dev: error: {exc}", file=sys.stderr)
        return 1
    try:
        return _run_locked(
            LocalPlane(
                template_path=template.resolve(),
                host=host,
                port=port,
                state_file=state_file,
                vendor_origins=vendor_origins,
                vendor_ca_file=vendor_ca_file,
                store_lock_fd=lock_fd,
                snapshot_interval_s=snapshot_interval(os.environ.get("STEWARD_SNAPSHOT_INTERVAL_S")),
                conformance_fixtures=conformance_fixtures,
            ),
            fresh=fresh,
        )
    finally:
        os.close(lock_fd)


def _run_locked(plane: LocalPlane, *, fresh: bool) -> int:
    layout = plane.store
    if fresh:
        delete_stored_state(layout)
        print(f"steward dev: --fresh: deleted the stored state in {layout.root}; starting empty", flush=True)
    try:
        plane.snapshot = store.load(layout.snapshot)
        if plane.snapshot is not None:
            store.load_principals(layout.principals)  # refuse now, before anything starts
    except StoreError as exc:
        print(f"steward dev: error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        state = plane.start()
        print(banner(state, restored=plane.snapshot is not None, store_dir=layout.root), flush=True)
        while not stop.wait(0.5):
            plane.refresh_functions()
            failure = plane.failed_child()
            if failure:
                print(f"steward dev: {failure}; stopping", file=sys.stderr)
                return 1
        return 0
    except (PlaneError, TemplateError, RegistrationError, StoreError) as exc:
        print(f"steward dev: error: {exc}", file=sys.stderr)
        return 1
    finally:
        plane.stop()
