"""Carol's adaptive methods: she imports a helper module she forgot to submit."""

from my_helpers import bias_corrected


def adam(x, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
         amsgrad=False, maximize=False, decoupled_weight_decay=False):
    return bias_corrected(x, grad, state, lr, betas, eps)
