"""The service package: app factory, configuration, readiness checks, metrics and JSON logs."""
