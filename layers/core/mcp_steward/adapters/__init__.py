"""Adapters: DynamoDB, Lambda and in-memory implementations of the domain's ports."""
