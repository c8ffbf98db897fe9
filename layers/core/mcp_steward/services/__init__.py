"""Use cases over the ports: listing and calling tools, registering servers."""
