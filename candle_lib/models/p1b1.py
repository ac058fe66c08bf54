"""P1B1: CANDLE's dense autoencoder of expression profiles, plain or variational.

Encoder: one Dense -> activation -> dropout block per entry of ``dense``, then a linear latent
layer of ``latent_dim`` units (for the VAE: the mean and log-variance of a Gaussian code, sampled
with the reparameterization trick, and the KL divergence to N(0, I) added to the loss, averaged
over the batch and divided by the number of features so it is on the scale of the per-feature
reconstruction MSE). Decoder: the encoder's blocks mirrored, then a linear output of the
input's width.
"""

from __future__ import annotations

import keras
from keras import ops

from candle_lib.models.layers import dense_block


class GaussianSample(keras.layers.Layer):
    """z = mean + exp(log_var / 2) * eps during training (the mean at inference); adds the KL term."""

    def __init__(self, n_features: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.n_features = n_features
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        kl = -0.5 * ops.mean(ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=1))
        self.add_loss(kl / self.n_features)
        if not training:
            return mean
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype)
        return mean + ops.exp(0.5 * log_var) * eps


def build_autoencoder(params: dict, n_features: int) -> keras.Model:
    latent = params["latent_dim"]
    inputs = keras.Input(shape=(n_features,), name="expression")
    x = inputs
    for j, units in enumerate(params["dense"]):
        x = dense_block(x, units, params, name=f"encoder{j + 1}")
    if params["vae"]:
        mean = keras.layers.Dense(latent, name="latent_mean")(x)
        log_var = keras.layers.Dense(latent, name="latent_log_var")(x)
        x = GaussianSample(n_features, params["rng_seed"], name="latent_sample")([mean, log_var])
    else:
        x = keras.layers.Dense(latent, name="latent")(x)
    for j, units in enumerate(reversed(params["dense"])):
        x = dense_block(x, units, params, name=f"decoder{j + 1}")
    x = keras.layers.Dense(n_features, name="reconstruction")(x)
    outputs = keras.layers.Activation("linear", dtype="float32", name="outputs")(x)
    return keras.Model(inputs, outputs, name="p1b1_vae" if params["vae"] else "p1b1_ae")
