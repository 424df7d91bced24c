"""Reusable constructs and the deployment config model."""
