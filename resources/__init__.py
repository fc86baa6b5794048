"""Files shipped with mnistconv: icons and the bundled model."""
