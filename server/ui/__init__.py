"""The web UI's assets (HTML, JS modules, CSS), served by ``lineage.server.http.ui_routes``."""
