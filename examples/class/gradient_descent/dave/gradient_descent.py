"""Dave's gradient descent: gd works; momentum waits for a buffer that never fills."""

import torch


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    direction = grad + weight_decay * x if not maximize else -grad + weight_decay * x
    return x - lr * direction


def momentum(x, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0,
             maximize=False):
    buffer = state.get("momentum_buffer")
    while buffer is None:  # waits for a buffer that only a later step would create
        buffer = state.get("momentum_buffer")
    return x - lr * buffer


def nesterov(x, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0,
             maximize=False):
    raise NotImplementedError("nesterov is not implemented yet")


def minibatches(n, batch_size, *, generator):
    raise NotImplementedError("minibatches is not implemented yet")
