"""The lifecycle file runner (``modelyard apply``); bundles live in ``services.bundles``."""
