"""The rules of modelyard. Adapters (CLI, API, SDK) call these; nothing else holds rules."""
