"""Adam, AdamW and RMSprop: every step against the published update rules, groups, dtypes, schedules,
bit-exact resume from state_dict (directly and through a checkpoint file), validation."""
import math

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import CheckpointError, ConfigError
from tinygrad_mnist.optim import SCHEDULES, Adam, AdamW, RMSprop
from tinygrad_mnist.train import read_checkpoint, save_checkpoint

STEPS = 6


def _gradients(shape=(3,), steps=STEPS, seed=0):
    return list(np.random.default_rng(seed).standard_normal((steps,) + shape))


# ---- the published rules, transcribed element by element in plain Python ---------------------------
def adam_reference(p0, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    """Kingma & Ba (2015), Algorithm 1, with PyTorch's weight decay (L2 in the gradient for Adam,
    Loshchilov & Hutter's decoupled shrinking for AdamW)."""
    beta1, beta2 = betas
    p = [float(v) for v in p0]
    m, v = [0.0] * len(p), [0.0] * len(p)
    trajectory = []
    for t, g in enumerate(grads, start=1):
        for i, gi in enumerate(g):
            if decoupled:
                p[i] = p[i] * (1 - lr * weight_decay)
            else:
                gi = gi + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            m_hat, v_hat = m[i] / (1 - beta1 ** t), v[i] / (1 - beta2 ** t)
            # sqrt(v_hat) + eps with eps scaled as PyTorch places it: sqrt(v)/sqrt(1-beta2^t) + eps
            p[i] = p[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        trajectory.append(list(p))
    return np.array(trajectory)


def rmsprop_reference(p0, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
    """Hinton's RMSprop (lecture 6e) in PyTorch's form: eps added to the root, optional momentum buffer."""
    p = [float(v) for v in p0]
    square, buffer = [0.0] * len(p), [0.0] * len(p)
    trajectory = []
    for g in grads:
        for i, gi in enumerate(g):
            gi = gi + weight_decay * p[i]
            square[i] = alpha * square[i] + (1 - alpha) * gi * gi
            step = gi / (math.sqrt(square[i]) + eps)
            if momentum > 0:
                buffer[i] = momentum * buffer[i] + step
                step = buffer[i]
            p[i] = p[i] - lr * step
        trajectory.append(list(p))
    return np.array(trajectory)


def _trajectory(make, grads, p0, dtype=np.float64):
    p = nn.Parameter(np.array(p0, dtype=dtype))
    optimizer = make([p])
    out = []
    for g in grads:
        p.grad = Tensor(np.asarray(g, dtype=dtype))
        optimizer.step()
        out.append(p.numpy().copy())
    return np.array(out)


P0 = [0.5, -1.5, 2.0]
CASES = [
    ("adam", lambda ps: Adam(ps, lr=0.01), lambda g: adam_reference(P0, g, 0.01)),
    ("adam betas eps", lambda ps: Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=1e-3),
     lambda g: adam_reference(P0, g, 0.1, (0.5, 0.9), 1e-3)),
    ("adam l2", lambda ps: Adam(ps, lr=0.01, weight_decay=0.1), lambda g: adam_reference(P0, g, 0.01, weight_decay=0.1)),
    ("adamw", lambda ps: AdamW(ps, lr=0.01), lambda g: adam_reference(P0, g, 0.01, weight_decay=1e-2, decoupled=True)),
    ("adamw strong", lambda ps: AdamW(ps, lr=0.05, weight_decay=0.5),
     lambda g: adam_reference(P0, g, 0.05, weight_decay=0.5, decoupled=True)),
    ("rmsprop", lambda ps: RMSprop(ps), lambda g: rmsprop_reference(P0, g, 1e-2)),
    ("rmsprop alpha eps", lambda ps: RMSprop(ps, lr=0.05, alpha=0.5, eps=0.1),
     lambda g: rmsprop_reference(P0, g, 0.05, 0.5, 0.1)),
    ("rmsprop momentum l2", lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, weight_decay=0.1),
     lambda g: rmsprop_reference(P0, g, 0.01, weight_decay=0.1, momentum=0.9)),
]


@pytest.mark.parametrize("make, reference", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_step_follows_the_published_rule(make, reference):
    grads = _gradients()
    np.testing.assert_allclose(_trajectory(make, grads, P0), reference(grads), rtol=1e-12, atol=1e-14)


def test_adam_first_step_is_lr_times_the_sign_of_the_gradient():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * g / (|g| + eps).
    g = np.array([2.0, -0.5, 1e-3])
    out = _trajectory(lambda ps: Adam(ps, lr=0.1), [g], P0)[0]
    np.testing.assert_allclose(out, np.array(P0) - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(out, [0.4, -1.4, 1.9], rtol=1e-4)


@pytest.mark.parametrize("make", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_float32_stays_float32_in_weights_and_state(make):
    grads = _gradients()
    out = _trajectory(make, grads, P0, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _trajectory(make, grads, P0), rtol=1e-4, atol=1e-5)
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    optimizer = make([p])
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    optimizer.step()
    assert all(v.dtype == np.float32 for v in optimizer.state[0].values() if isinstance(v, np.ndarray))


def test_parameter_groups_keep_their_own_settings_and_parameters_without_gradient_are_skipped():
    a, b, idle = (nn.Parameter(np.array(P0)) for _ in range(3))
    optimizer = Adam([{"params": [a, idle]}, {"params": [b], "lr": 0.1, "betas": (0.5, 0.9)}], lr=0.01)
    grads = _gradients()
    for g in grads:
        a.grad, b.grad = Tensor(g), Tensor(g)
        optimizer.step()
    np.testing.assert_allclose(a.numpy(), adam_reference(P0, grads, 0.01)[-1], rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), adam_reference(P0, grads, 0.1, (0.5, 0.9))[-1], rtol=1e-12)
    np.testing.assert_array_equal(idle.numpy(), P0)
    assert sorted(optimizer.state) == [0, 2] and optimizer.state[0]["step"] == STEPS


@pytest.mark.parametrize("optimizer_class", [Adam, AdamW, RMSprop])
def test_schedules_drive_the_learning_rate_of_every_optimizer(optimizer_class):
    p = nn.Parameter(np.array(P0))
    optimizer = optimizer_class([p], lr=0.1)
    schedule = SCHEDULES["step"](optimizer, step_size=1, gamma=0.5)
    moves = []
    for _ in range(3):
        before = p.numpy().copy()
        p.grad = Tensor(np.ones(3))
        optimizer.step()
        moves.append(np.abs(p.numpy() - before).max())
        schedule.step()
    assert optimizer.param_groups[0]["lr"] == 0.0125
    assert moves[1] < moves[0] and moves[2] < moves[1]


# ---- bit-exact resume -------------------------------------------------------------------------------
def _train(model, optimizer, batches):
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    for x, y in batches:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _model():
    return nn.Sequential(nn.Linear(4, 8, init="pytorch", seed=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3, seed=1))


OPTIMIZERS = {
    "adam": lambda ps: Adam(ps, lr=0.01, weight_decay=1e-3),
    "adamw": lambda ps: AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, weight_decay=1e-3),
}


@pytest.mark.parametrize("through_file", [False, True], ids=["state_dict", "checkpoint file"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resuming_from_saved_state_continues_bit_for_bit(name, through_file, tmp_path):
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((5, 4)).astype(np.float32), rng.integers(0, 3, 5)) for _ in range(8)]
    straight = _model()
    straight_optimizer = OPTIMIZERS[name](straight.parameters())
    _train(straight, straight_optimizer, batches)

    first = _model()
    first_optimizer = OPTIMIZERS[name](first.parameters())
    _train(first, first_optimizer, batches[:3])
    if through_file:
        path = save_checkpoint(tmp_path / "mid.npz", first, first_optimizer)
        model_state, optimizer_state = read_checkpoint(path).model_state(), read_checkpoint(path).optimizer_state()
    else:
        model_state, optimizer_state = first.state_dict(), first_optimizer.state_dict()
    del first, first_optimizer
    resumed = _model()
    resumed.load_state_dict(model_state)
    resumed_optimizer = OPTIMIZERS[name](resumed.parameters())
    resumed_optimizer.load_state_dict(optimizer_state)
    _train(resumed, resumed_optimizer, batches[3:])
    for (key, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
    assert resumed_optimizer.param_groups[0]["lr"] == straight_optimizer.param_groups[0]["lr"]


def test_state_dict_names_the_step_count_and_moments_and_loading_checks_them():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = Adam([p], lr=0.1, betas=(0.8, 0.9))
    p.grad = Tensor(np.ones(2, dtype=np.float32))
    optimizer.step()
    state = optimizer.state_dict()
    assert state["param_groups"][0]["betas"] == (0.8, 0.9)
    assert sorted(state["state"]["0"]) == ["exp_avg", "exp_avg_sq", "step"] and state["state"]["0"]["step"] == 1
    state["param_groups"][0]["betas"] = [0.8, 0.9]  # as JSON gives it back
    fresh = Adam([nn.Parameter(np.ones(2, dtype=np.float32))], lr=0.1)
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]["betas"] == (0.8, 0.9)
    state["state"]["0"]["step"] = -1
    with pytest.raises(CheckpointError, match="Adam: step of parameter 0 must be an integer >= 0, got -1"):
        fresh.load_state_dict(state)
    state["state"]["0"]["step"] = 1
    state["param_groups"][0]["betas"] = [0.8, 1.5]
    with pytest.raises(CheckpointError, match=r"Adam: the state holds invalid hyperparameters: .*beta2"):
        fresh.load_state_dict(state)


# ---- validation: one clear error per setting --------------------------------------------------------
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ps: Adam(ps, lr=0), r"Adam: lr must be > 0, got 0"),
        (lambda ps: Adam(ps, lr=float("nan")), r"Adam: lr must be a finite number, got nan"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"Adam: beta2 must be >= 0 and < 1, got 1"),
        (lambda ps: Adam(ps, betas=(-0.1, 0.9)), r"Adam: beta1 must be >= 0 and < 1, got -0.1"),
        (lambda ps: Adam(ps, betas=0.9), r"Adam: betas must be a pair \(beta1, beta2\), each >= 0 and < 1, got 0.9"),
        (lambda ps: Adam(ps, eps=0.0), r"Adam: eps must be > 0, got 0"),
        (lambda ps: AdamW(ps, weight_decay=-1e-2), r"AdamW: weight_decay must be >= 0, got -0.01"),
        (lambda ps: AdamW(ps, lr="0.1"), r"AdamW: lr must be a number, got '0.1'"),
        (lambda ps: RMSprop(ps, alpha=1.5), r"RMSprop: alpha must be >= 0 and <= 1, got 1.5"),
        (lambda ps: RMSprop(ps, momentum=1.0), r"RMSprop: momentum must be >= 0 and < 1, got 1"),
        (lambda ps: RMSprop(ps, eps=-1e-8), r"RMSprop: eps must be > 0, got -1e-08"),
        (lambda ps: RMSprop(ps, weight_decay=True), r"RMSprop: weight_decay must be a number, got True"),
        (lambda ps: Adam(ps, amsgrad=True), "unexpected keyword argument 'amsgrad'"),
    ],
)
def test_each_bad_setting_gets_one_clear_error(make, message):
    with pytest.raises((ConfigError, TypeError), match=message):
        make([nn.Parameter([1.0])])


def test_a_gradient_of_the_wrong_dtype_is_refused():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = RMSprop([p])
    p.grad = Tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"RMSprop: parameter 0 is float32\[2\] but its gradient is float64\[2\]"):
        optimizer.step()


# ---- against PyTorch (optional) ---------------------------------------------------------------------
TORCH_CASES = [
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.05, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.001}),
]


@pytest.mark.parametrize("name, options", TORCH_CASES, ids=[f"{n} {sorted(o)}" for n, o in TORCH_CASES])
def test_trajectories_match_pytorch(name, options):
    torch = pytest.importorskip("torch")
    grads = _gradients(shape=(4, 3), steps=20, seed=1)
    start = np.random.default_rng(2).standard_normal((4, 3))
    ours = _trajectory(lambda ps: {"Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}[name](ps, **options), grads, start)
    p = torch.tensor(start, requires_grad=True)
    optimizer = getattr(torch.optim, name)([p], **options)
    theirs = []
    for g in grads:
        p.grad = torch.tensor(g)
        optimizer.step()
        theirs.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-10, atol=1e-12)
