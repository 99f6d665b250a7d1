"""Fleet mode: many workflows planned together on shared instances (docs/fleet.md)."""
