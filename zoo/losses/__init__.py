"""Loss functions as pure tensor functions, one module per family; every model imports its losses from here.

``gan`` (logistic), ``fgan`` (f-divergences) and ``critics`` (Wasserstein, Cramér) also hold the density ratio or
energy that their discriminator's optimum gives, which DRS and DDLS read through a model's hooks; ``energy_based``
(EBGAN, BEGAN), ``stabilisers`` (Salimans et al. 2016), ``variational`` (KL, likelihoods, Gumbel-softmax), ``mmd``
(WAE), ``reconstruction`` (autoencoder costs, corruption), ``info`` (InfoGAN's mutual-information bound) and
``disentangling`` (β-VAE's capacity, β-TCVAE's decomposition of the KL) complete the set.

Conventions: image tensors are (B, C, H, W); per-image quantities are summed over pixels / latent dimensions and
returned with shape (B,) or averaged over the batch, so likelihood terms are in nats per image; everything that can
overflow in half precision is computed in float32.
"""
