"""Use cases. Each takes a store (unit of work factory) and domain inputs."""
