"""The desktop window of mnistconv."""
