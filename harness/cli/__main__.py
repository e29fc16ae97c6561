"""``python -m harness.cli``: the `envoy-fuzz` command."""

from harness.cli.main import main

raise SystemExit(main())
