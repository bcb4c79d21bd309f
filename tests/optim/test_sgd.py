"""SGD: hand-computed steps for every option, the two momentum forms, dtypes, validation, state."""
import json

import numpy as np
import pytest

from tinygrad_mnist import Tensor, nn
from tinygrad_mnist.errors import CheckpointError, ConfigError
from tinygrad_mnist.optim import SGD, Optimizer

GRADS = [1.0, 2.0, 3.0]


def _run(grads, dtype=np.float64, p0=1.0, **options):
    """Trajectory of one scalar parameter when its gradient is set to each value of ``grads`` in turn."""
    p = nn.Parameter(np.array([p0], dtype=dtype))
    optimizer = SGD([p], **options)
    trajectory = []
    for g in grads:
        p.grad = Tensor(np.array([g], dtype=dtype))
        optimizer.step()
        trajectory.append(p.item())
    return trajectory


# Worked by hand from the update rules in the SGD docstring (lr 0.1, p0 = 1, gradients 1, 2, 3).
HAND_COMPUTED = [
    # plain: p -= 0.1 g
    ({}, [0.9, 0.7, 0.4]),
    # v = 1, 2.9, 5.61 (= 0.9 v + g); p -= 0.1 v
    ({"momentum": 0.9}, [0.9, 0.61, 0.049]),
    # lab: v = 0.1, 0.29, 0.561 (= 0.9 v + 0.1 g); p -= v -- the same numbers
    ({"momentum": 0.9, "momentum_form": "lab"}, [0.9, 0.61, 0.049]),
    # dampening 0.5: v = 1 (first step undamped), 0.9 + 0.5*2 = 1.9, 1.71 + 1.5 = 3.21
    ({"momentum": 0.9, "dampening": 0.5}, [0.9, 0.71, 0.389]),
    ({"momentum": 0.9, "dampening": 0.5, "momentum_form": "lab"}, [0.9, 0.71, 0.389]),
    # nesterov: v = 1, 2.9, 5.61; p -= 0.1 (g + 0.9 v) = 0.19, 0.461, 0.8049
    ({"momentum": 0.9, "nesterov": True}, [0.81, 0.349, -0.4559]),
    ({"momentum": 0.9, "nesterov": True, "momentum_form": "lab"}, [0.81, 0.349, -0.4559]),
    # weight decay 0.1: g' = g + 0.1 p = 1.1, 2.089, 3.06811
    ({"weight_decay": 0.1}, [0.89, 0.6811, 0.374289]),
    # weight decay + momentum: v = 1.1, 0.99 + 2.089 = 3.079, 2.7711 + 3.05821 = 5.82931
    ({"weight_decay": 0.1, "momentum": 0.9}, [0.89, 0.5821, -0.000831]),
    ({"weight_decay": 0.1, "momentum": 0.9, "momentum_form": "lab"}, [0.89, 0.5821, -0.000831]),
]


@pytest.mark.parametrize("options, expected", HAND_COMPUTED, ids=[str(o) for o, _ in HAND_COMPUTED])
def test_steps_match_hand_computation(options, expected):
    np.testing.assert_allclose(_run(GRADS, lr=0.1, **options), expected, rtol=1e-12, atol=1e-14)


def _reference(grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """PyTorch's documented SGD, transcribed line by line, for arrays."""
    p, buf, out = np.array([0.5, -1.5, 2.0]), None, []
    for g in grads:
        d_p = g + weight_decay * p
        if momentum != 0:
            buf = d_p.copy() if buf is None else momentum * buf + (1 - dampening) * d_p
            d_p = d_p + momentum * buf if nesterov else buf
        p = p - lr * d_p
        out.append(p.copy())
    return out


OPTION_GRID = [
    dict(momentum=m, dampening=d, weight_decay=w, nesterov=n)
    for m in (0.0, 0.5, 0.9)
    for d in (0.0, 0.3)
    for w in (0.0, 0.01)
    for n in (False, True)
    if not (n and (m == 0 or d != 0)) and not (m == 0 and d != 0)
]


@pytest.mark.parametrize("form", ["pytorch", "lab"])
@pytest.mark.parametrize("options", OPTION_GRID, ids=[str(o) for o in OPTION_GRID])
def test_both_forms_follow_the_pytorch_reference_at_constant_lr(form, options):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3) for _ in range(8)]
    p = nn.Parameter(np.array([0.5, -1.5, 2.0]))
    optimizer = SGD([p], lr=0.05, momentum_form=form, **options)
    for g, expected in zip(grads, _reference(grads, 0.05, **options)):
        p.grad = Tensor(g)
        optimizer.step()
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_the_forms_differ_once_lr_changes():
    # After a lr drop the PyTorch form rescales the whole velocity; the lab form only new gradients.
    trajectories = {}
    for form in ("pytorch", "lab"):
        p = nn.Parameter(np.array([1.0]))
        optimizer = SGD([p], lr=0.1, momentum=0.9, momentum_form=form)
        for step in range(4):
            if step == 2:
                optimizer.param_groups[0]["lr"] = 0.01
            p.grad = Tensor(np.array([1.0]))
            optimizer.step()
        trajectories[form] = p.item()
    # pytorch: v = 1, 1.9, 2.71, 3.439; p = 1 - 0.1 - 0.19 - 0.0271 - 0.03439
    # lab: v = 0.1, 0.19, 0.9*0.19 + 0.01 = 0.181, 0.1729; p = 1 - 0.1 - 0.19 - 0.181 - 0.1729
    assert trajectories["pytorch"] == pytest.approx(0.64851)
    assert trajectories["lab"] == pytest.approx(0.3561)


@pytest.mark.parametrize("form", ["pytorch", "lab"])
@pytest.mark.parametrize("nesterov", [False, True])
def test_float32_stays_float32_and_updates_happen_in_place(form, nesterov):
    p = nn.Parameter(np.ones((3, 2), dtype=np.float32))
    data = p.data
    optimizer = SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=nesterov, momentum_form=form)
    for _ in range(3):
        p.grad = Tensor(np.full((3, 2), 0.5, dtype=np.float32))
        optimizer.step()
    assert p.data is data and p.dtype == np.float32
    assert optimizer.state[0]["momentum_buffer"].dtype == np.float32
    assert p.is_leaf and p.grad.numpy()[0, 0] == np.float32(0.5)  # no graph, gradient untouched


def test_numpy_scalar_hyperparameters_do_not_promote_float32():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = SGD([p], lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(0.1))
    p.grad = Tensor(np.ones(2, dtype=np.float32))
    optimizer.step()
    optimizer.step()
    assert type(optimizer.param_groups[0]["lr"]) is float
    assert optimizer.state[0]["momentum_buffer"].dtype == np.float32


def test_momentum_buffer_does_not_alias_the_gradient():
    p = nn.Parameter(np.zeros(2))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    grad = Tensor(np.ones(2))
    p.grad = grad
    optimizer.step()
    p.grad = grad
    optimizer.step()
    np.testing.assert_array_equal(grad.numpy(), [1.0, 1.0])


def test_parameters_without_gradient_are_skipped():
    used, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = SGD([used, unused], lr=0.1, momentum=0.9, weight_decay=0.5)
    used.grad = Tensor(np.ones(2))
    optimizer.step()
    np.testing.assert_array_equal(unused.numpy(), [1.0, 1.0])
    assert 1 not in optimizer.state
    np.testing.assert_allclose(used.numpy(), 1 - 0.1 * 1.5)


def test_zero_grad_and_parameter_groups():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = Tensor(np.ones(1)), Tensor(np.ones(1))
    optimizer.step()
    assert (a.item(), b.item()) == pytest.approx((0.9, 0.5))
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": 0.0}, "lr must be > 0"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"lr": "0.1"}, "lr must be a number"),
        ({"lr": 0.1, "momentum": -0.1}, "momentum must be >= 0"),
        ({"lr": 0.1, "weight_decay": -1e-4}, "weight_decay must be >= 0"),
        ({"lr": 0.1, "dampening": 1.5}, "dampening must be >= 0 and <= 1"),
        ({"lr": 0.1, "nesterov": True}, "nesterov needs momentum > 0"),
        ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "dampening = 0"),
        ({"lr": 0.1, "momentum_form": "keras"}, r"unknown momentum_form 'keras' \(choose from: pytorch, lab\)"),
    ],
)
def test_invalid_hyperparameters_raise_clear_value_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        SGD([nn.Parameter(np.ones(1))], **options)
    assert issubclass(ConfigError, ValueError)


def test_invalid_parameter_lists_are_rejected():
    with pytest.raises(ConfigError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="wrap a single one in a list"):
        SGD(nn.Parameter(np.ones(1)), lr=0.1)
    with pytest.raises(ValueError, match="requires_grad=True"):
        SGD([Tensor(np.ones(1))], lr=0.1)
    p = nn.Parameter(np.ones(1))
    with pytest.raises(ValueError, match="appears twice"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ConfigError, match="unknown option"):
        SGD([{"params": [p], "learning_rate": 0.1}], lr=0.1)


def test_gradient_that_does_not_match_its_parameter_is_an_error():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    p.grad = Tensor(np.ones(2))
    with pytest.raises(ValueError, match="float32.*float64"):
        SGD([p], lr=0.1).step()


# ---- state ----------------------------------------------------------------------------------------
def _train(model, optimizer, steps, seed):
    rng = np.random.default_rng(seed)
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    for _ in range(steps):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        y = rng.integers(0, 3, 8)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize("form", ["pytorch", "lab"])
def test_state_dict_round_trip_continues_bit_identically(form):
    options = dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True, momentum_form=form)
    model = nn.MLP(4, [6], 3, init="he", seed=0)
    optimizer = SGD(model.parameters(), **options)
    _train(model, optimizer, 3, seed=1)
    model_state, optimizer_state = model.state_dict(), optimizer.state_dict()
    json.dumps(optimizer_state["param_groups"])  # hyperparameters are JSON-able
    _train(model, optimizer, 3, seed=2)

    resumed = nn.MLP(4, [6], 3, init="he", seed=99)
    resumed_optimizer = SGD(resumed.parameters(), lr=0.5)  # the saved hyperparameters win
    resumed.load_state_dict(model_state)
    resumed_optimizer.load_state_dict(optimizer_state)
    _train(resumed, resumed_optimizer, 3, seed=2)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert resumed_optimizer.param_groups[0]["lr"] == 0.1


def test_state_dict_layout_and_copies():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(np.ones(2, dtype=np.float32))
    optimizer.step()
    state = optimizer.state_dict()
    assert state["param_groups"] == [
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False, "dampening": 0.0,
         "momentum_form": "pytorch", "params": [0]}
    ]
    assert list(state["state"]) == ["0"]
    saved = state["state"]["0"]["momentum_buffer"]
    optimizer.step()
    np.testing.assert_array_equal(saved, [1.0, 1.0])  # a copy, not the live buffer


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    good = optimizer.state_dict()
    cases = [
        ({"param_groups": good["param_groups"] * 2, "state": {}}, "2 parameter group"),
        ({"param_groups": [dict(good["param_groups"][0], params=[0, 1])], "state": {}}, "2 parameter"),
        ({"param_groups": good["param_groups"], "state": {"0": {"momentum_buffer": np.ones(3, np.float32)}}}, "float32\\[3\\]"),
        ({"param_groups": good["param_groups"], "state": {"0": {"momentum_buffer": np.ones(2)}}}, "float64"),
        ({"param_groups": good["param_groups"], "state": {"5": {"momentum_buffer": np.ones(2, np.float32)}}}, "parameter 5"),
        ({"param_groups": [dict(good["param_groups"][0], lr=-1.0)], "state": {}}, "invalid hyperparameters"),
        ({"param_groups": [dict(good["param_groups"][0], betas=1.0)], "state": {}}, "unknown option"),
        ({"state": {}}, "'param_groups'"),
    ]
    for state, message in cases:
        with pytest.raises(CheckpointError, match=message):
            optimizer.load_state_dict(state)
    assert optimizer.state_dict()["param_groups"] == good["param_groups"]
    annealed = {"param_groups": [dict(good["param_groups"][0], lr=0.0)], "state": {}}
    optimizer.load_state_dict(annealed)  # a schedule may have taken lr to 0 before the checkpoint
    assert optimizer.param_groups[0]["lr"] == 0.0


def test_base_optimizer_needs_an_update_rule():
    with pytest.raises(NotImplementedError, match="_update"):
        Optimizer([nn.Parameter(np.ones(1))], {"lr": 0.1}).step()


@pytest.mark.parametrize("form", ["pytorch", "lab"])
def test_a_0d_parameter_keeps_its_momentum(form):
    # lr 1, momentum 0.5, gradient 1 three times: v = 1, 1.5, 1.75, so p = -(1 + 1.5 + 1.75).
    p = nn.Parameter(np.array(0.0))
    optimizer = SGD([p], lr=1.0, momentum=0.5, momentum_form=form)
    for _ in range(3):
        p.grad = Tensor(np.array(1.0))
        optimizer.step()
    assert p.item() == -4.25
    assert isinstance(optimizer.state[0]["momentum_buffer"], np.ndarray)
