"""Text and language-model widgets: the per-epoch sampler, Predict for language models and
text classifiers, and the attention view."""
