"""``tuidl data``: fetch a dataset archive, or describe a dataset.

``tuidl data fetch cifar10 [--dest DIR] [--url URL] [--md5 HEX] [--keep-archive]``
downloads, verifies and safely extracts; ``tuidl data info NAME [--path P]`` loads a
dataset through the registry and prints its shapes, dtype, class names and class counts.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="fetch datasets and describe them",
        description="Fetch a dataset archive (verified and safely extracted), or describe "
        "a dataset: shapes, dtype, class names and counts.",
    )
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    fetch = sub.add_parser(
        "fetch",
        help="download, verify and extract a dataset",
        description="Download the official archive with a progress bar, check its md5 and "
        "extract it safely. Default destination: data/ in a checkout, otherwise "
        "$XDG_DATA_HOME/tuidl (~/.local/share/tuidl). An interrupted download leaves nothing "
        "behind; run the command again.",
    )
    fetch.add_argument(
        "name", choices=_Sources(), metavar="NAME", help="dataset to fetch: %(choices)s"
    )
    fetch.add_argument("--dest", metavar="DIR", help="folder to put it in")
    fetch.add_argument("--url", metavar="URL", help="download from this URL (a mirror)")
    fetch.add_argument("--md5", metavar="HEX", help="expected md5 of the archive from --url")
    fetch.add_argument(
        "--keep-archive", action="store_true", help="keep the .tar.gz after extracting"
    )
    fetch.set_defaults(func=run_fetch)

    info = sub.add_parser(
        "info",
        help="shapes, dtype, class names and counts of a dataset",
        description="Load a dataset through the registry (built-in or plugin) and describe it.",
    )
    info.add_argument("name", help="dataset name, e.g. digits, cifar10, npz")
    info.add_argument("--path", metavar="P", help="the dataset's path parameter")
    info.set_defaults(func=run_info)


class _Sources:
    """The names ``tuidl data fetch`` knows, read from :mod:`tuidl.data.fetch` only when
    argparse checks or lists them: importing it while building the parser (numpy, urllib)
    cost every tuidl command about 0.2 s of start-up."""

    def _names(self) -> list[str]:
        from tuidl.data.fetch import SOURCES

        return sorted(SOURCES)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def run_fetch(args) -> int:
    from tuidl.data.fetch import fetch

    bar = ProgressBar(sys.stderr)
    try:
        folder = fetch(
            args.name,
            args.dest,
            url=args.url,
            md5=args.md5,
            progress=bar,
            keep_archive=args.keep_archive,
        )
    finally:
        bar.close()
    print(f"{args.name} is ready in {folder}")
    return 0


def run_info(args) -> int:
    from tuidl.plugins.manager import get_registry

    registry = get_registry()
    params = {"path": args.path} if args.path is not None else {}
    dataset = registry.create("dataset", args.name, params)
    print(describe(dataset))
    return 0


def describe(dataset) -> str:
    """The text ``tuidl data info`` prints for a :class:`tuidl.data.Dataset`."""
    lines = [
        f"dataset   {dataset.name}",
        f"source    {dataset.source}",
        f"image     {tuple(dataset.image_shape)} {dataset.X_train.dtype}"
        f"  (values {dataset.X_train.min()}..{dataset.X_train.max()})",
        f"train     X {tuple(dataset.X_train.shape)}  y {tuple(dataset.y_train.shape)}",
    ]
    if dataset.X_test is not None:
        lines.append(f"test      X {tuple(dataset.X_test.shape)}  y {tuple(dataset.y_test.shape)}")
    else:
        lines.append("test      none (a split takes its test rows from the pool)")
    train = dataset.class_counts("train")
    test = dataset.class_counts("test") if dataset.X_test is not None else None
    width = max(4, *(len(n) for n in dataset.class_names))
    lines.append(f"classes   {dataset.num_classes}")
    header = f"  {'#':>3}  {'name':<{width}}  {'train':>7}" + (
        "  {:>7}".format("test") if test is not None else ""
    )
    lines.append(header)
    for i, name in enumerate(dataset.class_names):
        row = f"  {i:>3}  {name:<{width}}  {train[i]:>7}"
        if test is not None:
            row += f"  {test[i]:>7}"
        lines.append(row)
    return "\n".join(lines)


class ProgressBar:
    """``done/total`` bytes as one self-overwriting line (``\\r``) on a terminal stream;
    nothing when the stream is not a terminal."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.stream.isatty():  # a log or a pipe would get a line per redraw
            return
        now = time.monotonic()
        if self.shown and now - self.last < 0.1 and done != total:
            return  # redrawing for every 1 MiB chunk would flood a slow terminal
        self.last = now
        rate = done / max(now - self.started, 1e-9) / 2**20
        if total:
            filled = int(self.width * done / total)
            bar = "#" * filled + "." * (self.width - filled)
            text = (
                f"[{bar}] {done / 2**20:7.1f} / {total / 2**20:.1f} MiB {100 * done / total:3.0f}%"
            )
        else:
            text = f"{done / 2**20:7.1f} MiB"
        self.stream.write(f"\r{text}  {rate:6.1f} MiB/s")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
