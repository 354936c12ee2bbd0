"""Bob's gradient descent: the update rules as he remembers them from the lecture notes."""

import torch


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    if lr < 0 or weight_decay < 0:
        raise ValueError("lr and weight_decay must not be negative")
    g = -grad if maximize else grad
    return x - lr * (g + weight_decay * x)


def momentum(x, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0,
             maximize=False):
    g = -grad if maximize else grad
    g = g + weight_decay * x
    v = state.get("momentum_buffer", torch.zeros_like(x))
    v = momentum * v + (1 - momentum) * g  # an exponential moving average of the gradients
    state["momentum_buffer"] = v
    return x - lr * v


def nesterov(x, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0,
             maximize=False):
    g = -grad if maximize else grad
    g = g + weight_decay * x
    if "momentum_buffer" in state:
        state["momentum_buffer"] = momentum * state["momentum_buffer"] + g
    else:
        state["momentum_buffer"] = g.clone()
    return x - lr * state["momentum_buffer"]


def minibatches(n, batch_size, *, generator):
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    order = torch.randperm(n, generator=generator)
    return list(order.split(batch_size))
