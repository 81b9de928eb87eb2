"""Ways to draw and inspect samples: interpolation, latent arithmetic, neighbours, DRS, DDLS, manifolds."""
