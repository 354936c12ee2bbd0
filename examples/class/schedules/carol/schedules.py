"""Carol's schedules: she returns tensors, and her warm restarts raise."""

import torch


def step_lr(step, *, lr, step_size, gamma=0.1):
    return torch.tensor(lr * gamma ** (step // step_size))


def cosine_warm_restarts(step, *, lr, T_0, T_mult=1, eta_min=0.0):
    period = [T_0 * T_mult**i for i in range(10)]
    return eta_min + (lr - eta_min) * period[step]
