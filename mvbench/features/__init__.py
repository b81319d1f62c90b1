"""Feature extraction for raw image–text collections: image and text encoders, a feature cache and
the image–caption builder."""
