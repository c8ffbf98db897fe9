"""Pure rules of the plane: identities, names, the registry, grants. Standard library and pydantic only."""
