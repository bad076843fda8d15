"""Export and safe saving: SavedModel for TF Serving / TF Hub, `.keras` without surprises."""

from keras_transfer.export.saved_model import export_saved_model
from keras_transfer.export.saved_model import save_model

__all__ = ["export_saved_model", "save_model"]
