"""The reliability fault catalogue (docs/reliability.md), one module per section A–I."""
