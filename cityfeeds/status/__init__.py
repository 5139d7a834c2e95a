"""Health of sources and service (health), read from the store (inputs), shown (views)."""
