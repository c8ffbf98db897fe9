"""The one place observability singletons live (powertools Logger and Metrics)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MCPSteward")

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "governance"))
metrics = Metrics()
