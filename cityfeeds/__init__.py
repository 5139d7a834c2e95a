"""The application: CLI commands, the scheduled service, status, developer tools."""
