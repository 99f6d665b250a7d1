"""The cost model: predicted latency, cost, energy and quality, with provenance."""
