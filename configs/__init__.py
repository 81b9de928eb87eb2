"""The YAML configs shipped with zoo (``zoo fit --config NAME.yaml`` finds them by name)."""
