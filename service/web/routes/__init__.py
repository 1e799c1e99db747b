"""The pages, one module per area; ``service.web.install_web`` includes their routers."""
