"""Bob's adaptive methods, following his lecture notes; the last ones are still to do."""

import torch


def adagrad(x, grad, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
            initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    g = (-grad if maximize else grad) + weight_decay * x
    state["step"] = state.get("step", 0) + 1
    s = state.get("sum", torch.full_like(x, initial_accumulator_value)) + g * g
    state["sum"] = s
    clr = lr / (1 + (state["step"] - 1) * lr_decay)
    return x - clr * g / (s.sqrt() + eps)


def rmsprop(x, grad, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False):
    g = (-grad if maximize else grad) + weight_decay * x
    state["step"] = state.get("step", 0) + 1
    s = alpha * state.get("square_avg", torch.zeros_like(x)) + (1 - alpha) * g * g
    state["square_avg"] = s
    return x - lr * g / torch.sqrt(s + eps)


def adadelta(x, grad, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    raise NotImplementedError("adadelta is not implemented yet")


def adam(x, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
         amsgrad=False, maximize=False, decoupled_weight_decay=False):
    beta1, beta2 = betas
    g = -grad if maximize else grad
    if decoupled_weight_decay:
        x = x * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * x
    state["step"] = state.get("step", 0) + 1
    m = beta1 * state.get("exp_avg", torch.zeros_like(x)) + (1 - beta1) * g
    v = beta2 * state.get("exp_avg_sq", torch.zeros_like(x)) + (1 - beta2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = m, v
    return x - lr * m / (v.sqrt() + eps)


def adamw(x, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
          amsgrad=False, maximize=False):
    return adam(x, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
