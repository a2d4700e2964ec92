"""Operator and test tools for the Beauty Galera lab (load, benchmarks, failover checks)."""
