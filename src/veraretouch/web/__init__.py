"""`veraretouch serve`: the local web app (`app.create_app`), its guard rails (`safety`), the photos
it holds (`sessions`) and what it renders (`rendering`). The page is plain HTML, CSS and JavaScript
in ``static/``: nothing to build."""
from .app import create_app
from .safety import Limits

__all__ = ["create_app", "Limits"]
