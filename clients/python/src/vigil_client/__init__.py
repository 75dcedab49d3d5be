"""Vigil's Python client: log predictions and labels from serving code without ever slowing it down.

    from vigil_client import Vigil
    vigil = Vigil("http://127.0.0.1:9750")
    vigil.log_prediction(model="fraud", id="req-81f2", prediction="fraud", features={"amount": 129.5},
                         confidence=0.91)
    vigil.log_label(model="fraud", id="req-81f2", label="ok")
"""

from ._client import Vigil, VigilError

__all__ = ["Vigil", "VigilError"]
__version__ = "0.1.0"
