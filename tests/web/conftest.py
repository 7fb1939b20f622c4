from tests.support.browser import browser, watched

__all__ = ["browser", "watched"]
