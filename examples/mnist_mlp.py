"""Train an MLP on MNIST from Python, with the building blocks (no Trainer), and check its accuracy.

This is the classic lab in about twenty lines: load and scale MNIST, build 784-128-10 with ReLU,
softmax cross-entropy, SGD with momentum, loop over shuffled mini-batches, evaluate under no_grad.
It asserts its own target, so it doubles as a test (CI runs it on a subset).

Run: python examples/mnist_mlp.py --data-dir ../shared/data/mnist            (full data, >= 97%)
     python examples/mnist_mlp.py --train-size 5000 --epochs 2 --min-accuracy 0.85
"""
import argparse
import time


from tinygrad_mnist import Tensor, nn, no_grad, optim
from tinygrad_mnist.data import BatchIterator, load_mnist, prepare


def accuracy(model, x, y) -> float:
    with no_grad():
        return float((model(Tensor(x)).numpy().argmax(axis=1) == y).mean())


def main(data_dir, train_size, epochs, min_accuracy) -> None:
    splits = prepare(load_mnist(data_dir))
    x_train, y_train = splits.x_train[:train_size], splits.y_train[:train_size]
    model = nn.MLP(784, [128], 10, activation="relu", seed=0)
    loss_fn = nn.SoftmaxCrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    batches = BatchIterator(x_train, y_train, batch_size=100, seed=0)
    for epoch in range(epochs):
        start = time.perf_counter()
        for images, labels in batches.epoch(epoch):
            loss = loss_fn(model(Tensor(images)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        test = accuracy(model, splits.x_test, splits.y_test)
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}, test accuracy {test:.4f} "
              f"({time.perf_counter() - start:.2f} s)")
    assert test >= min_accuracy, f"test accuracy {test:.4f} is below the target {min_accuracy}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files (default: see README, Data)")
    parser.add_argument("--train-size", type=int, default=60000, help="use the first N training images")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training images")
    parser.add_argument("--min-accuracy", type=float, default=0.97, help="fail below this test accuracy")
    args = parser.parse_args()
    main(args.data_dir, args.train_size, args.epochs, args.min_accuracy)
