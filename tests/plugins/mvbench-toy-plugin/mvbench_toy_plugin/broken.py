"""A plugin module whose import fails, as when an optional dependency is missing."""

import mvbench_toy_plugin_missing_dependency  # noqa: F401

Unavailable = None
