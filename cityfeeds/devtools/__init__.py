"""Developer tools: extraction fixtures and the offline demo site."""
