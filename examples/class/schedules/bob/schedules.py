"""Bob's schedules, from the lecture notes' formulas."""

import math


def step_lr(step, *, lr, step_size, gamma=0.1):
    return lr * gamma ** (step // step_size)


def exponential_lr(step, *, lr, gamma):
    return lr * gamma ** (step + 1)  # decays once per epoch, starting after the first


def polynomial_lr(step, *, lr, alpha=0.5, beta=1.0):
    return lr * (beta * step + 1) ** -alpha


def cosine_lr(step, *, lr, T_max, eta_min=0.0):
    t = min(step, T_max)  # the notes hold the final learning rate after T_max
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2
