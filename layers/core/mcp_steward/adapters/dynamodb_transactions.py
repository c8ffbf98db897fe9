"""The conflict-retried ``TransactWriteItems`` the budget adapters share (docs/design.md section 4).

Concurrent transactions on one item are cancelled with ``TransactionConflict``, not queued, and botocore does
not retry them: :meth:`Transacting._transact` retries them with jitter, within the caller's deadline, and tells
``on_retry`` (a metric). Each attempt carries a ``ClientRequestToken`` (:func:`request_token`), so botocore's
re-send of an attempt that committed is answered with success.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from mcp_steward.adapters.dynamodb_common import DynamoDBClient
from mcp_steward.domain.ports import StoreRejectedError, StoreUnavailableError

MAX_CONFLICT_RETRIES: Final = 8


def request_token(kind: str, identity: str, call: str, attempt: int) -> str:
    """A ``ClientRequestToken`` (at most 36 characters) for one attempt of one transaction: derived from what the
    transaction is (``kind``, ``identity``: the reservation's request id, a settlement's token), this call of
    ``transact`` and the attempt. botocore re-sends an attempt with its token, so DynamoDB answers a re-sent
    attempt that committed with success; every new attempt (after a definite cancellation, or a reserve made again
    once its period was opened) gets a token of its own, since DynamoDB may answer a token it has seen with that
    token's first outcome for ten minutes."""
    return hashlib.sha256(f"{kind}|{identity}|{call}|{attempt}".encode()).hexdigest()[:36]


#: Errors that retrying the same transaction cannot fix.
REJECTED: Final = frozenset({"ValidationException", "SerializationException", "IdempotentParameterMismatchException"})


class CancelledError(Exception):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons

    @property
    def conflict_only(self) -> bool:
        codes = {reason.get("Code", "None") for reason in self.reasons}
        return "TransactionConflict" in codes and codes <= {"TransactionConflict", "None"}

    @property
    def rejected(self) -> bool:
        """A reason retrying cannot fix: an invalid item or expression (``ValidationError``), say."""
        return any(reason.get("Code") == "ValidationError" for reason in self.reasons)


class Transacting:
    """A store over the budgets table whose writes are transactions: ``on_retry`` is told of every conflict retry
    (metrics); ``sleep`` and ``clock`` are injectable. The reservations and the limits adapters share it."""

    def __init__(
        self,
        client: DynamoDBClient,
        *,
        budgets: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self._client = client
        self._budgets = budgets
        self._clock = clock
        self._sleep = sleep
        self._on_retry = on_retry

    def _transact(
        self, actions: list[dict[str, Any]], token: tuple[str, str], deadline: datetime | None = None
    ) -> None:
        """Run one transaction, retrying only ``TransactionConflict`` cancellations (and a transaction of ours
        still in progress), with jitter. ``token`` names the transaction (kind, identity) for its
        ``ClientRequestToken``.

        Raises:
            CancelledError: a condition failed (the reasons say which).
            StoreRejectedError: DynamoDB refused the request as malformed: retrying cannot fix it.
            StoreUnavailableError: DynamoDB could not answer, or kept cancelling for conflicts.
        """
        call = uuid.uuid4().hex
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            try:
                self._client.transact_write_items(
                    TransactItems=actions,  # type: ignore[arg-type]
                    ClientRequestToken=request_token(*token, call, attempt),
                )
                return
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                out_of_time = deadline is not None and self._clock() >= deadline
                if code in REJECTED:
                    raise StoreRejectedError(f"DynamoDB refused the transaction: {code}") from exc
                if code == "TransactionInProgressException":
                    if attempt == MAX_CONFLICT_RETRIES or out_of_time:
                        raise StoreUnavailableError("DynamoDB: the transaction is still in progress") from exc
                    self._on_retry()
                    self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
                    continue
                if code != "TransactionCanceledException":
                    raise StoreUnavailableError(f"DynamoDB answered {code}") from exc
                reasons: list[dict[str, Any]] = [dict(r) for r in exc.response.get("CancellationReasons", [])]
                cancelled = CancelledError(reasons)
                if cancelled.rejected:
                    raise StoreRejectedError("DynamoDB refused the transaction as invalid") from exc
                if not cancelled.conflict_only or attempt == MAX_CONFLICT_RETRIES or out_of_time:
                    if cancelled.conflict_only:
                        raise StoreUnavailableError("DynamoDB kept cancelling the transaction (conflicts)") from exc
                    raise cancelled from exc
                self._on_retry()
                self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
            except BotoCoreError as exc:
                raise StoreUnavailableError(f"DynamoDB: {type(exc).__name__}") from exc
