"""Built-in dataset plugins of mvbench, installed as ``mvbench.datasets``.

Each dataset is registered by one line in the ``mvbench.datasets`` entry-point group.
"""
