"""Core of mnistconv: model, data, training, checkpoints, prediction (Qt-free except qt_trainer)."""
