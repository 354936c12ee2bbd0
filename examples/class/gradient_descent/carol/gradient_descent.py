"""Carol's gradient descent, saved in the middle of an edit."""

import torch


def gd(x, grad, state, *, lr=1e-3, weight_decay=0.0, maximize=False):
    g = -grad if maximize else grad
    return x - lr * (g + weight_decay * x


def momentum(x, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0,
             maximize=False):
    raise NotImplementedError
