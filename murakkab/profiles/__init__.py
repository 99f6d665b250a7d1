"""Profiles of executors: shipped priors, a SQLite store of measurements, SLO tiers."""
