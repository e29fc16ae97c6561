"""The `envoy-fuzz` command line: the parser (``main``), shared flags (``args``), the core
subcommands (``commands``) and the predict/observe views (``views``).

Each subsystem adds its own subcommands from a ``commands`` module of its package; see
``harness.cli.main.COMMAND_MODULES``.
"""
