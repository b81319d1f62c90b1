"""Built-in method plugins of mvbench, installed as ``mvbench.methods``.

Each module holds one method family; each method is registered by one line in the
``mvbench.methods`` entry-point group of pyproject.toml.
"""
