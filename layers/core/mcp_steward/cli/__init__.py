"""The ``steward`` admin CLI: the same commands for the local plane and a deployed stack."""
