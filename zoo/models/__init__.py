"""One module per model: its losses, defaults and paper reference. Each registers itself with ``@register``."""
