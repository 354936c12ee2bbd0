"""Dave's adaptive methods: adagrad works; adam loops over the elements and never ends."""

import torch


def adagrad(x, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
            initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    g = grad.neg() if maximize else grad.clone()
    if weight_decay:
        g = g + weight_decay * x
    t = state["step"] = state.get("step", 0) + 1
    if "sum" not in state:
        state["sum"] = torch.full_like(x, initial_accumulator_value)
    state["sum"] = state["sum"] + g.square()
    return x - lr / (1 + (t - 1) * lr_decay) * g / (state["sum"].sqrt() + eps)


def adam(x, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
         amsgrad=False, maximize=False, decoupled_weight_decay=False):
    i = 0
    while i < x.numel():  # forgot to increment i
        x = x.clone()
    return x
