"""Istio's semantics the rules rely on: host names, protocols, mesh membership, annotations."""
