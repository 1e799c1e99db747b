"""TechMatch service: the FastAPI app and the command line over the matching library."""
