"""Domain adaptation: gradient reversal (DANN), CDAN, MMD (DAN), CORAL in `model.fit`.

The public names live in `keras_transfer.layers`, `.losses`, `.models`,
`.callbacks` and `.data`; this package holds their implementations.
"""
