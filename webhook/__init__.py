"""Meshwarden: Istio conventions, checked at `kubectl apply` and in CI."""

__version__ = "0.1.0"
