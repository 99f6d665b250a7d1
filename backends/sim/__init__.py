"""The sim backend: fleet plans through a discrete-event cluster simulator (docs/fleet.md)."""
