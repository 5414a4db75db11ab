"""The admission server: an HTTP adapter over the engine, with TLS, metrics and config reload."""
