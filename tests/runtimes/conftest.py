from tests.serving.conftest import invoice_frame

__all__ = ["invoice_frame"]
