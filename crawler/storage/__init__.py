"""Storage of articles, runs, HTTP validators and feed builds (SQLAlchemy Core)."""
