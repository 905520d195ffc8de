"""One module per ``memsim`` subcommand; each defines ``register(subparsers)``."""
