"""Sync protocol v1 for field kits (docs/sync.md): pull, push, files, conflicts."""
