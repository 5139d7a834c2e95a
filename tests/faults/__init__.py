"""The reliability fault catalogue (../shared/RELIABILITY.md), one module per section A–H."""
