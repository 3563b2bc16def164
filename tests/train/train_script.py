"""A complete training run in its own process, for the kill -9 / resume test (not a test module).

Usage: python -m tests.train.train_script OUT EPOCHS [--resume] [--sleep S] [--progress-file F]

``--sleep`` slows each training step down (without changing any number) so the
test can kill the process in the middle of an epoch; ``--progress-file``
receives the number of training batches prepared so far.
"""

import argparse
import time

from ttnet.train import EMA, SGD, StepLR, Trainer
from tests.train.synthetic import conv_net, make_task, prepare


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("epochs", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--progress-file")
    args = parser.parse_args()

    batches = 0

    def slow_prepare(images, rng, training):
        nonlocal batches
        if training:
            batches += 1
            if args.progress_file:
                with open(args.progress_file, "w") as f:
                    f.write(str(batches))
            time.sleep(args.sleep)
        return prepare(images, rng, training)

    train_images, train_labels = make_task(240, seed=1)
    test_images, test_labels = make_task(90, seed=2)
    model = conv_net(seed=3)
    optimizer = SGD(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    trainer = Trainer(model, optimizer, StepLR(0.1, step_epochs=2, gamma=0.5), slow_prepare,
                      out_dir=args.out, epochs=args.epochs, batch_size=20, seed=4,
                      ema=EMA(model, decay=0.99), config={"task": "bars", "net": "conv"},
                      resume=args.resume, progress=False, plot=False)
    trainer.fit(train_images, train_labels, test_images, test_labels)


if __name__ == "__main__":
    main()
